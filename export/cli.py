"""`nextword export` (and `nextword bench`): argument parsing only; the work is in pipeline.py and bench/."""

from __future__ import annotations

import argparse

from nextword.runtime.contract import FORMATS, QUANTIZE_MODES


def add_export(subparsers, help_line: str) -> None:
    from nextword.export.pipeline import DEFAULT_OPSET

    p = subparsers.add_parser(
        "export",
        help=help_line,
        description="Write model.onnx / model.tflite with the vocabulary inside, plus manifest.json.",
    )
    p.add_argument("train_dir", metavar="TRAIN_DIR")
    p.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: onnx,tflite (default both)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument(
        "--quantize",
        choices=QUANTIZE_MODES,
        default="none",
        help="also write quantized variants (model.dynamic.*, model.float16.* or model.int8.*)",
    )
    p.add_argument(
        "--allow-accuracy-loss",
        action="store_true",
        help="keep quantized files that miss a gate (top-1 agreement 99%%, perplexity +2%%, savings -0.5 points)",
    )
    p.add_argument("--corpus", metavar="FILE", help="the training text, if it is no longer where config.json says")
    p.add_argument(
        "--tflite-batch1",
        action="store_true",
        help="also write model.batch1.tflite, its batch fixed to 1, for LiteRT.js (which cannot resize inputs)",
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace a previous export in --out (never other files)")
    p.set_defaults(func=run_export)


def add_bench(subparsers, help_line: str) -> None:
    b = subparsers.add_parser(
        "bench",
        help=help_line,
        description="Latency, throughput, cold start, memory, sizes and generation speed of an "
        "export, against raw onnxruntime / LiteRT and Keras, on held-out windows.",
    )
    b.add_argument("train_dir", metavar="TRAIN_DIR")
    b.add_argument("export_dir", metavar="EXPORT_DIR")
    b.add_argument("--json", metavar="FILE", help="write the results as JSON")
    b.add_argument("--plot", metavar="FILE", help="write a PNG chart")
    b.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed calls per latency row (default 10000, --quick 300; Keras rows a fiftieth)",
    )
    b.add_argument(
        "--quick", action="store_true", help="a few seconds of measuring: checks the pipeline, not the speed"
    )
    b.add_argument("--corpus", metavar="FILE", help="the training text, if it is no longer where config.json says")
    b.add_argument(
        "--compare",
        metavar="EXPORT_DIR",
        help="sequence kind: a window model's export, timed beside it on the same texts",
    )
    b.set_defaults(func=run_bench)


def run_export(args: argparse.Namespace) -> int:
    from nextword.export.pipeline import ExportOptions, export

    options = ExportOptions(
        formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
        opset=args.opset,
        quantize=args.quantize,
        allow_accuracy_loss=args.allow_accuracy_loss,
        corpus=args.corpus,
        tflite_batch1=args.tflite_batch1,
    )
    manifest = export(args.train_dir, args.out, options, force=args.force)
    print(f"wrote {args.out}/: {', '.join(manifest['files'])}, manifest.json")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from nextword.export.bench.report import format_report, plot_report
    from nextword.export.bench.run import run_bench as bench
    from nextword.export.bench.run import write_json

    result = bench(
        args.train_dir,
        args.export_dir,
        quick=args.quick,
        repeats=args.repeats,
        corpus=args.corpus,
        compare=args.compare,
    )
    print(format_report(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        plot_report(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


COMMANDS = {"export": add_export, "bench": add_bench}  # read by nextword.runtime.cli
