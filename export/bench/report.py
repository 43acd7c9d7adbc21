"""Reading a `nextword bench` result: the printed table, the targets as PASS/MISS, and the PNG chart.

Everything here works from the JSON alone, so a saved bench.json can be re-reported later.
"""

from __future__ import annotations

from pathlib import Path

from nextword.export.bench.timing import BATCH_SIZES

RUNTIMES = ("runtime_onnx", "runtime_tflite")
MAX_OVERHEAD_VS_RAW = 1.3
MIN_SPEEDUP_VS_KERAS_PREDICT = 500.0
MAX_COLD_START_S = 0.5
MIN_COLD_START_SPEEDUP_VS_KERAS = 10.0
MAX_COMPLETION_HOST_US = 50.0  # a letter inside a word, once the step's distribution is kept
MAX_USER_MODEL_US = 20.0  # what mixing a user model adds to one keystroke
MAX_USER_FILE_MB = 5.0  # at 100k learned entries
MAX_USER_FILE_LOAD_MS = 50.0


def check_targets(result: dict) -> list[dict]:
    """The project's speed targets, each as a ratio of two numbers from the same run (or a bound in µs, MB)."""
    kind_checks = check_sequence_targets if result.get("kind") == "sequence" else check_window_targets
    return kind_checks(result) + check_keyboard_targets(result)


def check_window_targets(result: dict) -> list[dict]:
    latency, cold = result["latency_us"], result["cold_start_s"]
    checks = []
    for name in RUNTIMES:
        raw = name.replace("runtime", "raw")
        overhead = latency[name]["p50"] / latency[raw]["p50"]
        checks.append(
            target(f"{name} p50 <= {MAX_OVERHEAD_VS_RAW}x {raw}", f"{overhead:.2f}x", overhead <= MAX_OVERHEAD_VS_RAW)
        )
        speedup = latency["keras_predict"]["p50"] / latency[name]["p50"]
        checks.append(
            target(
                f"{name} >= {MIN_SPEEDUP_VS_KERAS_PREDICT:.0f}x faster than keras_predict",
                f"{speedup:.0f}x",
                speedup >= MIN_SPEEDUP_VS_KERAS_PREDICT,
            )
        )
    for name in RUNTIMES:
        checks.append(
            target(f"{name} cold start <= {MAX_COLD_START_S} s", f"{cold[name]:.3f} s", cold[name] <= MAX_COLD_START_S)
        )
        speedup = cold["keras"] / cold[name]
        checks.append(
            target(
                f"{name} cold start >= {MIN_COLD_START_SPEEDUP_VS_KERAS:.0f}x faster than keras",
                f"{speedup:.1f}x",
                speedup >= MIN_COLD_START_SPEEDUP_VS_KERAS,
            )
        )
    return checks


def check_sequence_targets(result: dict) -> list[dict]:
    checks = []
    for fmt, ratios in result["ratios"].items():
        overhead = ratios["session_vs_raw_step"]
        checks.append(
            target(
                f"session_{fmt} typed word p50 <= {MAX_OVERHEAD_VS_RAW}x raw_step_{fmt}",
                f"{overhead:.2f}x",
                overhead <= MAX_OVERHEAD_VS_RAW,
            )
        )
        if "session_vs_window" in ratios:
            versus = ratios["session_vs_window"]
            checks.append(target(f"session_{fmt} p50 below window_{fmt} predict_next", f"{versus:.2f}x", versus < 1))
    return checks


def user_model_cost_us(row: dict) -> float:
    """The largest p50 that a user model adds to any kind of keystroke (next word, letters)."""
    return max(row["with_user"][name] - row["alone"][name] for name in row["alone"])


def check_keyboard_targets(result: dict) -> list[dict]:
    keyboard = result.get("keyboard_us")
    if keyboard is None:  # a JSON written before the keyboard rows
        return []
    checks = []
    for fmt, row in keyboard.items():
        alone = row["alone"]
        if "word_then_next_us" in alone:  # a session: the space after a word is one step and a bar
            ratio = alone["word_then_next_us"] / result["latency_us"][f"raw_step_{fmt}"]["p50"]
            checks.append(
                target(
                    f"session_{fmt} word + next-word suggest p50 <= {MAX_OVERHEAD_VS_RAW}x raw_step_{fmt}",
                    f"{ratio:.2f}x",
                    ratio <= MAX_OVERHEAD_VS_RAW,
                )
            )
            host = alone["completion_host_us"]
            checks.append(
                target(
                    f"{fmt} completion suggest <= {MAX_COMPLETION_HOST_US:.0f} µs host ({row['vocab_size']:,} words)",
                    f"{host:.1f} µs",
                    host <= MAX_COMPLETION_HOST_US,
                )
            )
        cost = user_model_cost_us(row)
        checks.append(
            target(
                f"{fmt} user model adds <= {MAX_USER_MODEL_US:.0f} µs a keystroke",
                f"{cost:.1f} µs",
                cost <= MAX_USER_MODEL_US,
            )
        )
    user_file = result["user_file"]
    megabytes = user_file["bytes"] / 1e6
    entries = f"{user_file['entries']:,} entries"
    checks.append(
        target(
            f"user file <= {MAX_USER_FILE_MB:.0f} MB ({entries})", f"{megabytes:.2f} MB", megabytes <= MAX_USER_FILE_MB
        )
    )
    checks.append(
        target(
            f"user file loads in <= {MAX_USER_FILE_LOAD_MS:.0f} ms ({entries})",
            f"{user_file['load_ms']:.1f} ms",
            user_file["load_ms"] <= MAX_USER_FILE_LOAD_MS,
        )
    )
    return checks


def keyboard_lines(result: dict) -> list[str]:
    keyboard = result.get("keyboard_us")
    if keyboard is None:
        return []
    # "first pass": the same text typed with the user model once before, its contexts then read for the first time
    lines = ["", f"{'keyboard, p50 µs a keystroke':<30}{'alone':>10}{'with user':>11}{'first pass':>12}"]
    for fmt, row in keyboard.items():
        lines.append(f"{fmt} ({row['vocab_size']:,} words, user model of {row['user_model_entries']:,} entries)")
        first = row.get("with_user_first_pass", {})  # a JSON written before this column has none
        for name, us in row["alone"].items():
            first_us = f"{first[name]:>12.1f}" if name in first else ""
            lines.append(f"  {name:<28}{us:>10.1f}{row['with_user'][name]:>11.1f}{first_us}")
        if "after_new_word_us" in row:
            new = row["after_new_word_us"]
            lines.append(
                f"  next-word bar after a word new to the user model: {new['p50']:.1f} µs p50, {new['max']:.1f} max"
            )
    user = result["user_file"]
    lines.append(f"user file: {user['entries']:,} entries, {user['bytes']:,} bytes, loads in {user['load_ms']:.1f} ms")
    return lines


def target(name: str, measured: str, met: bool) -> dict:
    return {"target": name, "measured": measured, "status": "PASS" if met else "MISS"}


def machine_line(result: dict) -> str:
    machine = result["machine"]
    return (
        f"machine: {machine['cpu']}, {machine['usable_cores']} cores, python {machine['python']}, "
        f"load {machine['load_average_1m']}"
    )


def format_sequence_report(result: dict) -> str:
    lines = [machine_line(result), "", f"{'sequence kind (µs)':<30}{'p50':>10}{'p99':>10}"]
    for name, row in result["latency_us"].items():
        lines.append(f"{name:<30}{row['p50']:>10.1f}{row['p99']:>10.1f}")
    for fmt, ratios in result["ratios"].items():
        lines.append(f"  {fmt}: " + ", ".join(f"{name} {value:.2f}x" for name, value in ratios.items()))
    lines += ["", f"{'cold start (child-reported)':<30}{'seconds':>10}{'peak RSS MB':>13}"]
    for name, seconds in result["cold_start_s"].items():
        lines.append(f"{name:<30}{seconds:>10.3f}{result['peak_rss_mb'][name]:>13.1f}")
    lines += ["", f"{'file':<30}{'bytes':>12}"]
    lines += [f"{name:<30}{size:>12,}" for name, size in result["size_bytes"].items()]
    lines += ["", f"{'generate, greedy (ms/word)':<30}{'from text':>10}{'in session':>12}"]
    session = result.get("session_generate_ms_per_word", {})
    lines += [
        f"{name:<30}{ms:>10.3f}{session.get(name, float('nan')):>12.3f}"
        for name, ms in result["generate_ms_per_word"].items()
    ]
    lines += keyboard_lines(result)
    lines += ["", "targets (ratios from this run):"]
    lines += [
        f"  {check['status']:<5} {check['target']:<58} measured {check['measured']}" for check in check_targets(result)
    ]
    return "\n".join(lines)


def format_report(result: dict) -> str:
    if result.get("kind") == "sequence":
        return format_sequence_report(result)
    lines = [machine_line(result), ""]
    ratios = result["ratios"]
    lines.append(
        f"{'latency, one next word (µs)':<30}{'p50':>10}{'p99':>10}{'vs raw':>9}{'x faster than keras_predict':>29}"
    )
    for name, row in result["latency_us"].items():
        vs_raw = ratios[name]["vs_raw"]
        lines.append(
            f"{name:<30}{row['p50']:>10.1f}{row['p99']:>10.1f}"
            f"{(f'{vs_raw:.2f}x' if vs_raw is not None else '-'):>9}{ratios[name]['speedup_vs_keras_predict']:>28.0f}x"
        )
    for name, steps in result.get("runtime_breakdown_us", {}).items():
        lines.append(f"  {name} steps (median µs): " + ", ".join(f"{step} {us:.1f}" for step, us in steps.items()))
    lines += ["", f"{'throughput (windows/s)':<30}" + "".join(f"{'batch ' + str(b):>13}" for b in BATCH_SIZES)]
    for name, row in result["throughput_wps"].items():
        lines.append(f"{name:<30}" + "".join(f"{row[str(b)]:>13,.0f}" for b in BATCH_SIZES))
    detail = result.get("cold_start_detail", {})
    lines += [
        "",
        f"{'cold start (child-reported)':<30}{'seconds':>10}{'wall s':>10}{'peak RSS MB':>13}{'processes':>11}",
    ]
    for name, seconds in result["cold_start_s"].items():
        row = detail.get(name, {})
        lines.append(
            f"{name:<30}{seconds:>10.3f}{row.get('parent_wall_s', float('nan')):>10.3f}"
            f"{result['peak_rss_mb'][name]:>13.1f}{row.get('processes', 0):>11}"
        )
    lines += ["", f"{'file':<30}{'bytes':>12}"]
    lines += [f"{name:<30}{size:>12,}" for name, size in result["size_bytes"].items()]
    lines += ["", f"{'generate, greedy (ms/word)':<30}"]
    lines += [f"{name:<30}{ms:>10.3f}" for name, ms in result["generate_ms_per_word"].items()]
    windowing = result.get("windowing")
    if windowing:
        lines += [
            "",
            f"training input: make_windows on {windowing['words']:,} ids (seq_len {windowing['seq_len']}): "
            f"{windowing['seconds'] * 1000:.1f} ms",
        ]
    lines += keyboard_lines(result)
    lines += ["", "targets (ratios from this run):"]
    lines += [
        f"  {check['status']:<5} {check['target']:<58} measured {check['measured']}" for check in check_targets(result)
    ]
    return "\n".join(lines)


def plot_report(result: dict, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    if result.get("kind") == "sequence":
        fig, lat = plt.subplots(1, 1, figsize=(9, 5))
        plot_latency(lat, result)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
    fig, ((lat, thr), (cold, rss)) = plt.subplots(2, 2, figsize=(13, 9))
    plot_latency(lat, result)

    for name, row in result["throughput_wps"].items():
        thr.plot(BATCH_SIZES, [row[str(b)] for b in BATCH_SIZES], marker="o", label=name)
    thr.set_xscale("log")
    thr.set_yscale("log")
    thr.set_xlabel("batch size")
    thr.set_ylabel("windows / second")
    thr.legend()
    thr.set_title("throughput")

    for axis, key, title, unit in (
        (cold, "cold_start_s", "cold start", "seconds to first prediction (child-reported)"),
        (rss, "peak_rss_mb", "peak memory", "peak RSS of the process (MB)"),
    ):
        values = result[key]
        axis.bar(list(values), list(values.values()), color=["tab:blue", "tab:orange", "tab:gray"][: len(values)])
        axis.set_ylabel(unit)
        axis.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_latency(axis, result: dict) -> None:
    names = list(result["latency_us"])
    p50 = [result["latency_us"][n]["p50"] for n in names]
    p99 = [result["latency_us"][n]["p99"] for n in names]
    axis.barh(names, p50, label="p50")
    axis.scatter(p99, names, color="black", marker="|", s=200, label="p99", zorder=3)
    axis.set_xscale("log")
    axis.set_xlabel("µs per call (log)")
    axis.invert_yaxis()
    axis.legend()
    axis.set_title("single-call latency")
