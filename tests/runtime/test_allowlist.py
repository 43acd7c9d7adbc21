"""Issue 11: only graphs the exporter makes run, sizes are bounded by limits, and every refusal is typed.

Both directions: the exported files pass; a foreign operator, WHILE / Loop, wrong counts, out-of-range
indexes, an ORT-format identifier and oversized numbers are refused before an engine sees them.
"""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

import pytest
from conftest import FORMATS
from nextword.runtime.errors import CorruptModelError, ModelFormatError, UnsafeModelError
from nextword.runtime.limits import Limits
from nextword.runtime.predictor import Predictor

HARDENING = Path(__file__).resolve().parents[1] / "hardening"
sys.path.insert(0, str(HARDENING))

import fuzz_models  # noqa: E402
import mutations  # noqa: E402
import structure  # noqa: E402

pytest.importorskip("flatbuffers")


def data_of(exported_dir, fmt: str) -> bytes:
    return (exported_dir / f"model.{fmt}").read_bytes()


def refused(data: bytes, tmp_path, fmt: str) -> str:
    """Load in a forked child (a regression must fail the test, not kill pytest); the refusal's message."""
    case = fuzz_models.Case("pinned", fmt, "pinned", "", data, via_file=False)
    job = fuzz_models.start(case, timeout=60.0, scratch=str(tmp_path))
    ready = fuzz_models.select.select([job.pidfd], [], [], 60.0)[0]
    outcome, message = fuzz_models.finish(job, timed_out=not ready)
    assert outcome == "refused", (outcome, message)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_files_pass_the_allowlist(exported_dir, fmt):
    assert Predictor.from_bytes(data_of(exported_dir, fmt)).predict_next("the value of", k=3)


def test_every_operator_swapped_for_a_foreign_builtin_is_refused(exported_dir, tmp_path):
    data = data_of(exported_dir, "tflite")
    for operator in range(structure.tflite_operator_count(data)):
        for builtin in (2, 22, 119, 118, 129, 32, 170):  # CALL, RESHAPE, WHILE, IF, CALL_ONCE, CUSTOM, ...
            with pytest.raises(CorruptModelError):
                Predictor.from_bytes(structure.tflite_swap_opcode(data, operator, builtin))


def test_an_operator_swapped_for_an_allowed_one_with_other_types_is_refused(exported_dir):
    data = data_of(exported_dir, "tflite")
    with pytest.raises(CorruptModelError, match="not one nextword's window exporter writes"):
        Predictor.from_bytes(structure.tflite_swap_opcode(data, 0, 94))  # FILL in place of the first operator


@pytest.mark.parametrize("seed", range(6))
def test_a_while_if_or_call_once_operator_is_refused(exported_dir, tmp_path, seed):
    data, _ = structure.tflite_with_control_flow(data_of(exported_dir, "tflite"), random.Random(seed))
    assert refused(data, tmp_path, "tflite").startswith("CorruptModelError")


@pytest.mark.parametrize("op_type", ["Loop", "If", "Scan", "ConstantOfShape", "Identity"])
def test_an_onnx_node_of_a_foreign_op_type_is_refused(exported_dir, op_type):
    data = data_of(exported_dir, "onnx")
    node = structure.onnx_nodes(data)[3]
    with pytest.raises(CorruptModelError, match="is not one nextword's window exporter writes"):
        Predictor.from_bytes(structure.onnx_set_op_type(data, node, op_type))


def test_an_onnx_loop_with_a_huge_trip_count_is_refused(exported_dir, tmp_path):
    data, _ = structure.onnx_with_loop(data_of(exported_dir, "onnx"), random.Random(0))
    assert refused(data, tmp_path, "onnx").startswith("CorruptModelError")


def test_an_onnx_node_with_the_wrong_number_of_inputs_is_refused(exported_dir):
    data = data_of(exported_dir, "onnx")
    index = mutations.index_onnx(data)
    extra = next(f for f in index.fields if f.kind == "node" and f.number == 1 and len(f.ancestors) == 2)
    mutated = mutations.splice(data, extra.end, extra.end, mutations.len_field(1, b"tokens"), extra.ancestors)
    with pytest.raises(CorruptModelError, match="inputs and"):
        Predictor.from_bytes(mutated)


@pytest.mark.parametrize("value", [-2, 10**6, 2**31 - 1])
def test_an_operator_input_index_out_of_range_is_refused(exported_dir, value):
    data = data_of(exported_dir, "tflite")
    index = mutations.index_tflite(data)
    with pytest.raises(CorruptModelError, match="tensor"):
        Predictor.from_bytes(mutations.put(data, index.index_slots[-1], "<i", value))


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_ort_format_identifier_is_refused(exported_dir, fmt):
    data = data_of(exported_dir, fmt)
    with pytest.raises(ModelFormatError):
        Predictor.from_bytes(data[:4] + b"ORTM" + data[8:])


def test_an_onnx_file_with_the_ort_identifier_is_refused_as_unsafe(exported_dir):
    data = data_of(exported_dir, "onnx")
    assert data[4:8] != b"ORTM"
    from nextword.runtime.model_check import check_model

    bundle = Predictor.from_bytes(data).bundle
    with pytest.raises(UnsafeModelError, match="ORT-format"):
        check_model(data[:4] + b"ORTM" + data[8:], "onnx", bundle.config, Limits(), "m")


def test_a_fill_of_a_huge_constant_shape_is_refused_before_allocation(exported_dir, tmp_path):
    data = data_of(exported_dir, "tflite")
    index = mutations.index_tflite(data)
    # Every small int32 constant set to 16384: FILL's dims are built from one of them.
    out = data
    for buffer in index.buffers:
        vector = buffer["data"]
        if vector is not None and vector.count == 4:
            out = mutations.put(out, vector.start, "<i", 16384 * 16384)
    assert refused(out, tmp_path, "tflite").startswith(("UnsafeModelError", "CorruptModelError"))


def test_a_tensor_shape_edited_past_what_the_file_could_hold_is_refused(exported_dir, tmp_path):
    """The fuzzer's memory cases: one shape dimension set to 16384 in a 1 MB file made LiteRT allocate 200-600
    MB while staying under max_planned_bytes. Tensors must fit what the file's weights can become."""
    data = data_of(exported_dir, "tflite")
    index = mutations.index_tflite(data)
    shaped = [t for t in index.tensors if t["shape"] is not None and t["shape"].count]
    tensor = max(shaped, key=lambda t: t["shape"].count)
    rest = 1
    for slot in range(1, tensor["shape"].count):
        rest *= max(1, struct.unpack_from("<i", data, tensor["shape"].start + 4 * slot)[0])
    # 40 M elements: under max_tensor_elements (64 Mi), but 160 MB, far past 4x this file + 64 MiB.
    edited = mutations.put(data, tensor["shape"].start, "<i", 40_000_000 // rest)
    assert "can take" in refused(edited, tmp_path, "tflite")


def test_a_negative_int32_constant_is_refused(exported_dir, tmp_path):
    """The fuzzer's hangs and a 5 GB allocation: -1 or -2 edited into a slice bound or a dimension. nextword's
    graphs hold no negative int32 constant, so any one is refused before LiteRT plans the graph."""
    data = data_of(exported_dir, "tflite")
    index = mutations.index_tflite(data)
    small = [b["data"] for b in index.buffers if b["data"] is not None and 4 <= b["data"].count <= 32]
    messages = [refused(mutations.put(data, vector.start, "<i", -2), tmp_path, "tflite") for vector in small[:6]]
    assert messages and any("no negative ones" in message for message in messages)


def test_an_onnx_expand_of_a_huge_constant_shape_is_refused(exported_dir):
    data = data_of(exported_dir, "onnx")
    index = mutations.index_onnx(data)
    raws = [f for f in index.fields if f.kind == "tensor" and f.number == 9 and f.end - f.start == 4]
    found = False
    for raw in raws:  # one of them is the int32 [units] that Expand's shape is concatenated from
        mutated = mutations.put(data, raw.start, "<i", 2**30)
        try:
            Predictor.from_bytes(mutated)
        except UnsafeModelError as exc:
            found = found or "max_tensor_elements" in str(exc)
        except ModelFormatError:
            pass
    assert found


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "limit, value", [("max_vocab_size", 100), ("max_units", 4), ("max_seq_len", 2), ("max_tensor_elements", 1000)]
)
def test_limits_are_keyword_arguments_and_refuse_with_the_name(exported_dir, fmt, limit, value):
    with pytest.raises(UnsafeModelError, match=limit.removeprefix("max_")):
        Predictor.load(exported_dir / f"model.{fmt}", **{limit: value})


def test_an_unknown_limit_is_a_type_error(exported_dir):
    with pytest.raises(TypeError, match="max_bananas"):
        Predictor.load(exported_dir / "model.onnx", max_bananas=3)


def test_huge_config_numbers_are_refused_by_the_limits(exported_dir):
    data = data_of(exported_dir, "onnx")
    base = mutations.make_base("m", data, "onnx")
    for field, value in (("vocab_size", 2 * 10**9), ("seq_len", 10**9), ("units", 10**9)):
        mutated = structure._with_metadata(base, "nextword.config", _config_with(base, **{field: value}))
        with pytest.raises(ModelFormatError, match=f"{field}|{value}"):
            Predictor.from_bytes(mutated)


def _config_with(base, **changes) -> bytes:
    import json

    return json.dumps({**json.loads(base.metadata["nextword.config"]), **changes}).encode()
