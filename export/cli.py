"""`nextword export` (and `nextword bench`): argument parsing only; the work is in pipeline.py and bench.py."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from nextword.export.pipeline import DEFAULT_OPSET, FORMATS, QUANTIZE_MODES

    p = subparsers.add_parser("export", help="convert a training folder to ONNX and TFLite, validated against Keras",
                              description="Write model.onnx / model.tflite with the vocabulary inside, plus manifest.json.")
    p.add_argument("train_dir", metavar="TRAIN_DIR")
    p.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: onnx,tflite (default both)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--quantize", choices=QUANTIZE_MODES, default="none",
                   help="also write quantized variants (model.dynamic.* or model.float16.*)")
    p.add_argument("--allow-accuracy-loss", action="store_true",
                   help="keep quantized files even below 99%% top-1 agreement with Keras")
    p.add_argument("--corpus", metavar="FILE", help="the training text, if it is no longer where config.json says")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from nextword.export.pipeline import ExportOptions, export

    options = ExportOptions(formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()), opset=args.opset,
                            quantize=args.quantize, allow_accuracy_loss=args.allow_accuracy_loss, corpus=args.corpus)
    manifest = export(args.train_dir, args.out, options, force=args.force)
    print(f"wrote {args.out}/: {', '.join(manifest['files'])}, manifest.json")
    return 0
