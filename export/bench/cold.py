"""Cold start: a fresh Python process that imports, loads and returns the first prediction.

The child times itself from the first line of its script to the first prediction (interpreter start-up
is the same for every row and not ours to cut) and reports its own peak RSS; the parent also records
spawn-to-exit wall time. Kinds take turns, so a busy moment on the machine falls on all of them alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nextword.runtime.errors import NextwordError

# Both children end by printing one JSON line: seconds to first prediction, peak RSS, and whether
# TensorFlow was imported (the runtime promises it never is).
# Peak RSS comes from VmHWM, the high-water mark of this process's own memory map: ru_maxrss would not do,
# because Linux carries the parent's peak into a vfork()ed child across exec, and the parent holds TensorFlow.
_REPORT = """
seconds = time.perf_counter() - t0
try:
    with open("/proc/self/status") as f:
        peak_mb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
except OSError:
    import resource
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
print(json.dumps({"seconds": seconds, "top": top, "peak_rss_mb": peak_mb,
                  "tensorflow_loaded": "tensorflow" in sys.modules}))
"""

RUNTIME_CHILD = (
    """
import time; t0 = time.perf_counter()
import json, sys
from nextword.runtime.predictor import Predictor
top = Predictor.load(sys.argv[1]).predict_next(sys.argv[2], k=5)[0][0]
"""
    + _REPORT
)

# The command a device runs, `nextword predict MODEL TEXT`: the entry point's own imports included.
CLI_CHILD = (
    """
import time; t0 = time.perf_counter()
import json, sys
from nextword.runtime.cli import main
status = main(["predict", sys.argv[1], sys.argv[2], "-k", "5"])
top = "exit status %d" % status
"""
    + _REPORT
)

# What an app without this project does: Keras itself, the tokenizer JSON beside the model, a top-5.
KERAS_CHILD = (
    """
import time; t0 = time.perf_counter()
import json, sys
import numpy as np
import keras
from nextword.runtime.tokenizer import tokenizer_from_json
model_path, tokenizer_path, text, context_len = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(tokenizer_path, encoding="utf-8") as f:
    tokenizer = tokenizer_from_json(f.read())
model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
ids = tokenizer.encode_words(text)[0][-context_len:]
x = np.zeros((1, context_len), dtype=np.int32)
x[0, context_len - len(ids):] = ids
probs = model.predict(x, verbose=0)[0]
top = tokenizer.index_word[int(np.argsort(-probs[1:])[0]) + 1]
"""
    + _REPORT
)


def measure_cold_starts(
    paths: dict[str, Path], train_dir: Path, text: str, context_len: int, runtime_processes: int, keras_processes: int
) -> dict[str, dict]:
    """{name: {child_s, parent_wall_s, peak_rss_mb, processes, tensorflow_loaded}} per row (runtime_onnx, ...)."""
    commands = {f"runtime_{fmt}": ([RUNTIME_CHILD, str(path), text], runtime_processes) for fmt, path in paths.items()}
    commands |= {f"cli_{fmt}": ([CLI_CHILD, str(path), text], runtime_processes) for fmt, path in paths.items()}
    if keras_processes:  # the window kind's Keras baseline; 0 leaves it out
        commands["keras"] = (
            [KERAS_CHILD, str(train_dir / "model.keras"), str(train_dir / "tokenizer.json"), text, str(context_len)],
            keras_processes,
        )
    runs = {name: [] for name in commands}
    for turn in range(max(n for _, n in commands.values())):  # kinds take turns
        for name, (argv, n) in commands.items():
            if turn < n:
                runs[name].append(run_child(argv))
    return {
        name: {
            "child_s": statistics.median(r["seconds"] for r in rs),
            "parent_wall_s": statistics.median(r["wall"] for r in rs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
            "processes": len(rs),
            "tensorflow_loaded": any(r["tensorflow_loaded"] for r in rs),
        }
        for name, rs in runs.items()
    }


def run_child(argv: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", *argv], capture_output=True, text=True, env=env, timeout=300)
    wall = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise NextwordError(f"cold-start child exited with {done.returncode}: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"wall": wall}
