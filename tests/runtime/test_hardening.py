"""Hardening of the runtime: smoke runs of the fuzz and load scripts, awkward inputs, a property test, hostile files.

The scripts in tests/hardening/ run full campaigns by hand (see each one's docstring); here they run
small enough to keep this file to about a minute, plus checks that their failure detectors do fire.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ANY_OUTPUT, FORMATS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nextword.runtime.errors import CorruptModelError, OutputError
from nextword.runtime.predictor import Predictor

ROOT = Path(__file__).resolve().parents[2]
HARDENING = ROOT / "tests" / "hardening"
sys.path.insert(0, str(HARDENING))  # the scripts import their sibling modules by plain name

import fuzz_models  # noqa: E402
import load_test  # noqa: E402
import mutations  # noqa: E402


def script(name: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(HARDENING / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def predictors(exported_dir) -> dict[str, Predictor]:
    return {fmt: Predictor.load(exported_dir / f"model.{fmt}") for fmt in FORMATS}


# --- the three scripts, small -------------------------------------------------------------------


def test_fuzz_smoke_has_no_crash_hang_or_foreign_exception(exported_dir, tmp_path):
    report = tmp_path / "fuzz.json"
    result = script(
        "fuzz_models.py",
        "--model",
        exported_dir / "model.onnx",
        "--model",
        exported_dir / "model.tflite",
        "--count",
        50,
        "--timeout",
        30,
        "--workers",
        2,
        "--json",
        report,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    figures = json.loads(report.read_text())
    assert {fmt: sum(counts.values()) for fmt, counts in figures["totals"].items()} == {"onnx": 50, "tflite": 50}
    assert figures["problem_count"] == 0
    assert all(figures["totals"][fmt].get("refused", 0) > 0 for fmt in FORMATS)  # the mutations do reach the checks


@pytest.mark.parametrize(
    "behaviour, expected",
    [("refuse", "refused"), ("foreign", "other"), ("segfault", "crash"), ("sleep", "hang"), ("fine", "ran")],
)
def test_fuzz_child_classifies_every_outcome(behaviour, expected, tmp_path, monkeypatch):
    def exercise(case, path):
        if behaviour == "refuse":
            raise CorruptModelError("bad file")
        if behaviour == "foreign":
            raise KeyError("not ours")
        if behaviour == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if behaviour == "sleep":
            time.sleep(30)

    monkeypatch.setattr(fuzz_models, "exercise", exercise)
    case = fuzz_models.Case("0:0", "onnx", "test", "", b"", via_file=False)
    job = fuzz_models.start(case, timeout=1.0, scratch=str(tmp_path))
    ready = fuzz_models.select.select([job.pidfd], [], [], 1.0)[0]
    outcome, _ = fuzz_models.finish(job, timed_out=not ready)
    assert outcome == expected


def test_load_smoke_matches_single_threaded_answers(exported_dir, tmp_path):
    report = tmp_path / "load.json"
    result = script(
        "load_test.py",
        "--model",
        exported_dir / "model.onnx",
        "--model",
        exported_dir / "model.tflite",
        "--threads",
        8,
        "--calls",
        200,
        "--json",
        report,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    results = json.loads(report.read_text())["results"]
    assert [r["backend"] for r in results] == ["onnx", "tflite"]
    assert all(r["mismatches"] == 0 and r["calls"] == 1600 and not r["errors"] for r in results)


def test_load_hammer_notices_a_predictor_that_changes_its_answers():
    class Drifting:
        calls = 0

        def predict_next(self, text, k):
            Drifting.calls += 1
            return [("word", 1.0 / Drifting.calls)]

    texts = ["a", "b"]
    hammer = load_test.Hammer(Drifting(), texts, [[("word", 1.0)], [("word", 1.0)]], threads=2, calls=50)
    hammer.run()
    assert hammer.mismatch_count > 0 and not hammer.errors


def test_a_failing_write_inside_the_staging_folder_is_an_output_error(tmp_path):
    from nextword.runtime.files import staged_dir

    with pytest.raises(OutputError, match="No space left"):
        with staged_dir(tmp_path / "out", force=False, kind=ANY_OUTPUT):
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


# --- awkward inputs, both backends -----------------------------------------------------------------


@pytest.fixture(params=FORMATS)
def predictor(request, predictors) -> Predictor:
    return predictors[request.param]


def test_one_megabyte_of_text_predicts_from_its_last_words(predictor, embedded_text):
    text = (embedded_text * (1024 * 1024 // len(embedded_text) + 1))[: 1024 * 1024]
    tail = " ".join(text.split()[-20:])
    assert predictor.predict_next(text, k=5) == predictor.predict_next(tail, k=5)


def test_nul_bytes_make_unknown_words_not_errors(predictor):
    got = predictor.predict_next("the\x00king of", k=3)
    assert len(got) == 3 and "the\x00king" in got.unknown_words


def test_mixed_scripts_and_emoji(predictor):
    got = predictor.predict_next("the 日本語 🙂 Ελληνικά king", k=4)
    assert len(got) == 4
    assert {"日本語", "🙂", "ελληνικά"} <= set(got.unknown_words)


@pytest.mark.parametrize("text", ["?!... ,;:", "zzqx flurbish vroomp"], ids=["punctuation", "oov-only"])
def test_text_without_known_words_predicts_from_an_empty_context(predictor, text):
    assert predictor.tokenizer.oov_token is None  # with an OOV token, unknown words would map to its id instead
    assert predictor.predict_next(text, k=5) == predictor.predict_next("", k=5)


def test_k_beyond_the_vocabulary_returns_every_word_once(predictor):
    got = predictor.predict_next("to be", k=predictor.vocab_size + 100)
    words = [word for word, _ in got]
    assert len(words) == len(set(words)) == predictor.vocab_size - 1


def test_generate_3000_words(predictor):
    words = predictor.generate("the king", n_words=3000).split(" ")
    assert len(words) == 3000 and set(words) <= set(predictor.vocabulary.values())


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda p: p.predict_next("x", k=0), ValueError),
        (lambda p: p.predict_next("x", k="5"), TypeError),
        (lambda p: p.predict_next(None), TypeError),
        (lambda p: p.predict_next(b"bytes"), TypeError),
        (lambda p: p.generate("x", n_words=-1), ValueError),
        (lambda p: p.generate("x", strategy="beam"), ValueError),
    ],
)
def test_bad_arguments_are_typed_errors(predictor, call, error):
    with pytest.raises(error):
        call(predictor)


# --- the property every answer has -----------------------------------------------------------------


@pytest.fixture(scope="module")
def vocabulary_words(predictors) -> list[str]:
    return sorted(set(predictors["onnx"].vocabulary.values()))


texts = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.one_of(
            st.sampled_from(["the", "king", "to", "be", "of", "and"]),
            st.text(max_size=8),
            st.sampled_from(["!", "...", "\x00", "🙂", "日本"]),
        ),
        max_size=12,
    ).map(" ".join),
)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, k=st.integers(min_value=1, max_value=5000))
def test_any_text_gives_min_k_vocabulary_words_in_probability_order(fmt, predictors, vocabulary_words, text, k):
    predictor = predictors[fmt]
    got = predictor.predict_next(text, k=k)
    words, probabilities = [w for w, _ in got], [p for _, p in got]
    assert len(got) == min(k, predictor.vocab_size - 1)
    assert set(words) <= set(vocabulary_words)
    assert all(a >= b for a, b in zip(probabilities, probabilities[1:]))
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert sum(probabilities) <= 1.0 + 1e-6


# --- what the fuzz campaign found, pinned (each was a crash or a foreign exception before its fix) ---


def run_in_fork(data: bytes, fmt: str, tmp_path) -> tuple[str, str]:
    """Load and predict in a forked child, so a regression shows up as a failed test, not a dead pytest."""
    case = fuzz_models.Case("pinned", fmt, "pinned", "", data, via_file=False)
    job = fuzz_models.start(case, timeout=60.0, scratch=str(tmp_path))
    ready = fuzz_models.select.select([job.pidfd], [], [], 60.0)[0]
    return fuzz_models.finish(job, timed_out=not ready)


def tflite_operators(data: bytes) -> list[dict]:
    reader = mutations.FlatReader(data)
    model = reader.u32(0)

    def scalar(table, number, fmt):
        pos = reader.field(table, number)
        return 0 if pos is None else struct.unpack_from(fmt, data, pos)[0]

    builtins = [
        max(scalar(code, mutations.OPCODE_DEPRECATED_BUILTIN, "<b"), scalar(code, mutations.OPCODE_BUILTIN, "<i"))
        for code in reader.tables(reader.vector(model, mutations.MODEL_OPERATOR_CODES))
    ]
    subgraph = reader.tables(reader.vector(model, mutations.MODEL_SUBGRAPHS))[0]
    return [
        {
            "builtin": builtins[scalar(op, mutations.OPERATOR_OPCODE_INDEX, "<I")],
            "opcode_pos": reader.field(op, mutations.OPERATOR_OPCODE_INDEX),
            "inputs": reader.vector(op, mutations.OPERATOR_INPUTS),
            "outputs": reader.vector(op, mutations.OPERATOR_OUTPUTS),
        }
        for op in reader.tables(reader.vector(subgraph, mutations.SUBGRAPH_OPERATORS))
    ]


@pytest.fixture(scope="module")
def tflite_bytes(exported_dir) -> bytes:
    return (exported_dir / "model.tflite").read_bytes()


ADD, TRANSPOSE, STRIDED_SLICE, SPLIT, UNPACK = 0, 39, 45, 49, 88  # schema.fbs BuiltinOperator codes


@pytest.mark.parametrize(
    "builtin, position",
    [(TRANSPOSE, 1), (STRIDED_SLICE, 3), (SPLIT, 0)],
    ids=["transpose-perm", "strided-slice-strides", "split-axis"],
)
def test_a_required_operator_input_of_minus_one_is_refused_before_litert(tflite_bytes, tmp_path, builtin, position):
    # Each of these made LiteRT 2.3 segfault: the kernel reads the missing tensor without checking.
    op = next(op for op in tflite_operators(tflite_bytes) if op["builtin"] == builtin)
    mutated = mutations.put(tflite_bytes, op["inputs"].start + 4 * position, "<i", -1)
    outcome, message = run_in_fork(mutated, "tflite", tmp_path)
    assert (outcome, message.split(":")[0]) == ("refused", "CorruptModelError"), message


def test_an_operator_turned_into_another_with_too_few_inputs_is_refused_before_litert(tflite_bytes, tmp_path):
    # Found by bit flips: an UNPACK's opcode index pointing at SPLIT made LiteRT 2.3 segfault.
    ops = tflite_operators(tflite_bytes)
    unpack = next(op for op in ops if op["builtin"] == UNPACK and op["opcode_pos"] is not None)
    split = next(op for op in ops if op["builtin"] == SPLIT)
    split_opcode = mutations.FlatReader(tflite_bytes).u32(split["opcode_pos"]) if split["opcode_pos"] is not None else 0
    mutated = mutations.put(tflite_bytes, unpack["opcode_pos"], "<I", split_opcode)
    outcome, message = run_in_fork(mutated, "tflite", tmp_path)
    assert outcome == "refused" and "not one nextword's window exporter writes" in message, message  # the allowlist


def test_an_operator_read_as_a_split_whose_options_disagree_is_refused_before_litert(tflite_bytes, tmp_path):
    # Found by the opcode-index mutation: any ADD/MUL/FILL/... read as SPLIT crashed LiteRT's XNNPACK
    # delegate, which trusts SplitOptions.num_splits (absent here, so 0) where the kernel checks it.
    ops = tflite_operators(tflite_bytes)
    add = next(op for op in ops if op["builtin"] == ADD and op["opcode_pos"] is not None)
    split = next(op for op in ops if op["builtin"] == SPLIT)
    split_opcode = mutations.FlatReader(tflite_bytes).u32(split["opcode_pos"]) if split["opcode_pos"] is not None else 0
    outcome, message = run_in_fork(
        mutations.put(tflite_bytes, add["opcode_pos"], "<I", split_opcode), "tflite", tmp_path
    )
    assert outcome == "refused" and "not one nextword's window exporter writes" in message, message  # the allowlist


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tensor_name_that_is_not_utf8_is_a_corrupt_model_error(exported_dir, fmt):
    data = (exported_dir / f"model.{fmt}").read_bytes()
    assert data.count(b"tokens")  # the input's name, wherever the file spells it
    with pytest.raises(CorruptModelError):
        Predictor.from_bytes(data.replace(b"tokens", b"tok\xffns"))


def test_an_operator_writing_into_a_constant_is_refused(tflite_bytes, tmp_path):
    index = mutations.index_tflite(tflite_bytes)
    constant = next(
        i
        for i, t in enumerate(index.tensors)
        if t["buffer_pos"] is not None
        and index.buffers[mutations.FlatReader(tflite_bytes).u32(t["buffer_pos"])]["data"] is not None
    )
    op = tflite_operators(tflite_bytes)[-1]
    mutated = mutations.put(tflite_bytes, op["outputs"].start, "<i", constant)
    outcome, message = run_in_fork(mutated, "tflite", tmp_path)
    assert outcome == "refused" and "writes tensor" in message, message  # refused by our check, not by luck


def test_an_operator_litert_cannot_prepare_fails_at_load_not_at_first_prediction(tflite_bytes):
    # A TRANSPOSE turned ADD has the right arity, but LiteRT prepares it only at the first invoke and then
    # fails on its input types. The allowlist now refuses it first (ADD never takes float32 and int32).
    ops = tflite_operators(tflite_bytes)
    reader = mutations.FlatReader(tflite_bytes)
    transpose = next(op for op in ops if op["builtin"] == TRANSPOSE and op["opcode_pos"] is not None)
    add = next(op for op in ops if op["builtin"] == ADD)
    mutated = mutations.put(
        tflite_bytes, transpose["opcode_pos"], "<I", reader.u32(add["opcode_pos"]) if add["opcode_pos"] else 0
    )
    with pytest.raises(CorruptModelError, match="LiteRT|exporter writes"):
        Predictor.from_bytes(mutated)


def onnx_with_metadata(data: bytes, key: str, value: bytes) -> bytes:
    entry = next(item for item, name, _ in mutations.index_onnx(data).entries if name == key)
    content = mutations.len_field(1, key.encode()) + mutations.len_field(2, value)
    return mutations.splice(data, entry.start, entry.end, content, (entry,))


def config_with(data: bytes, **changes) -> bytes:
    entry = next(value for _, name, value in mutations.index_onnx(data).entries if name == "nextword.config")
    return json.dumps({**json.loads(entry), **changes}).encode()


@pytest.mark.parametrize(
    "key, value",
    [
        ("nextword.format_version", "\u00b2".encode()),
        ("nextword.format_version", b"9" * 5000),
        ("nextword.config", b"[" * 100_000),
        ("nextword.tokenizer", json.dumps({"class_name": "Tokenizer", "config": {"word_index": "[" * 5000}}).encode()),
        ("nextword.config", None),
    ],
    ids=["superscript-version", "5000-digit-version", "deep-json", "deep-json-in-a-table", "float-vocab-size"],
)
def test_odd_bundled_metadata_is_a_corrupt_model_error(exported_dir, key, value):
    data = (exported_dir / "model.onnx").read_bytes()
    if value is None:
        vocab_size = Predictor.from_bytes(data).vocab_size
        value = config_with(data, vocab_size=float(vocab_size))  # equal to the int: only a type check notices
    with pytest.raises(CorruptModelError):
        Predictor.from_bytes(onnx_with_metadata(data, key, value))
