"""`nextword bench`, one module per concern:

run.py       the entry point: loads the folders, picks the kind, adds cold starts, sizes and the machine
window.py    the window kind's rows: runtime, raw engines and Keras on held-out windows
sequence.py  the sequence kind's rows: a typed word in a session beside its raw engine step
keyboard.py  suggest per keystroke (next word, completion), alone and with a user model; the user file
timing.py    the timing loops (latency, throughput, generation), medians and percentiles only
cold.py      cold start and peak memory of fresh processes
report.py    the printed table, the targets as PASS/MISS and the chart, from the JSON alone
"""
