"""Copies of an exported model for the JS parity fixtures (runtime/js/test/make_fixtures.sh): one without a casing
table (words as learned) and one with a table that also holds forms a counter never writes ("THE"), in both
formats, so display casing is compared both ways. Here, not beside the fixtures: rewriting a TFLite file's
metadata is the export stage's work, and runtime/ never imports it.

    python tests/export/casing_copies.py EXPORT_DIR OUT_DIR   # OUT_DIR/{bare,cased}/model.{onnx,tflite}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nextword.export.tflite import _rewrite, embed_metadata
from nextword.runtime import Predictor
from nextword.runtime.casing import CaseCounter, case_table_to_json
from nextword.runtime.contract import KEY_CASING
from nextword.runtime.corpus import embedded_text


def case_table(predictor: Predictor) -> dict[str, str]:
    """The table training builds from the corpus the fixture model learned (Python's help pages: "None",
    "Python", "True", ...), plus forms no counter writes but a table may hold: all capitals and a capital
    inside the word."""
    words = [w for w in predictor.words[1:] if w and w != predictor.tokenizer.oov_token]
    table = dict(predictor.bundle.casing)
    if not table:  # a file exported before training counted casing
        counter = CaseCounter(predictor.tokenizer, words)
        counter.update(embedded_text())
        table = counter.case_table()
    plain = [w for w in words if w not in table and w.isalpha() and len(w) > 2]
    table[plain[0]] = plain[0].upper()
    table[plain[1]] = plain[1][:-1] + plain[1][-1].upper()
    return dict(sorted(table.items()))


def with_casing(data: bytes, fmt: str, table: str | None) -> bytes:
    """The same file with its nextword.casing entry replaced by table (None: removed), all else kept."""
    if fmt == "onnx":
        import onnx

        proto = onnx.load_from_string(data)
        kept = [(e.key, e.value) for e in proto.metadata_props if e.key != KEY_CASING]
        del proto.metadata_props[:]
        for key, value in kept + ([(KEY_CASING, table)] if table is not None else []):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        return proto.SerializeToString()

    def strip(model):
        model.metadata = [item for item in model.metadata or [] if item.name not in (KEY_CASING, KEY_CASING.encode())]

    stripped = _rewrite(data, strip)
    return embed_metadata(stripped, {KEY_CASING: table.encode("utf-8")}) if table is not None else stripped


def write_copies(export_dir: Path, out_dir: Path) -> None:
    """out_dir/bare and out_dir/cased: model.onnx and model.tflite without a casing table, and with one."""
    table = case_table_to_json(case_table(Predictor.load(export_dir / "model.onnx")))
    for name, casing in (("bare", None), ("cased", table)):
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        for fmt in ("onnx", "tflite"):
            path = out_dir / name / f"model.{fmt}"
            path.write_bytes(with_casing((export_dir / path.name).read_bytes(), fmt, casing))
            size = len(Predictor.load(path).bundle.casing)  # read back by the runtime itself
            assert size == (len(json.loads(casing)) if casing else 0), (path, size)
    print(f"{out_dir}: bare/ and cased/ (a {len(json.loads(table))}-word casing table) model.onnx and model.tflite")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: casing_copies.py EXPORT_DIR OUT_DIR")
    write_copies(Path(sys.argv[1]), Path(sys.argv[2]))
