"""Issue 22: a graph holds no more nodes than nextword writes for its config, and its LSTMs are the config's.

A 100,000-node ONNX chain (3.5 MB, 30 s in onnxruntime) and the same in TFLite are refused before they are
parsed; a bundled config whose state is merely as wide as the graph's (2 x 192 units on a 1 x 384 graph) is
refused at load, in both formats and both kinds.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import pytest
from conftest import FORMATS
from nextword.runtime.errors import CorruptModelError, UnsafeModelError
from nextword.runtime.limits import max_graph_nodes
from nextword.runtime.predictor import Predictor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardening"))

import mutations  # noqa: E402
import structure  # noqa: E402

pytest.importorskip("flatbuffers")


def chained(data: bytes, fmt: str, n: int) -> bytes:
    return structure.onnx_node_chain(data, n) if fmt == "onnx" else structure.tflite_operator_chain(data, n)


def with_config(data: bytes, fmt: str, **changes) -> bytes:
    base = mutations.make_base("m", data, fmt)
    config = json.loads(base.metadata["nextword.config"]) | changes
    return structure._with_metadata(base, "nextword.config", json.dumps(config).encode())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_graph_past_the_node_bound_is_refused(exported_dir, fmt):
    data = (exported_dir / f"model.{fmt}").read_bytes()
    Predictor.from_bytes(chained(data, fmt, 40))  # a few more nodes than exported: within the headroom
    with pytest.raises(UnsafeModelError, match="the graph has more than .* (nodes|operators)"):
        Predictor.from_bytes(chained(data, fmt, max_graph_nodes(2 if fmt == "tflite" else 1)))


def test_the_issues_100000_node_onnx_chain_is_refused_before_it_is_parsed(exported_dir):
    data = chained((exported_dir / "model.onnx").read_bytes(), "onnx", 100_000)
    assert len(data) > 3_000_000
    start = time.perf_counter()
    # Its 100,000 nodes are several hundred thousand protobuf fields: the reader's field budget stops it first
    # (the node bound, which would stop a shorter chain, is tested below).
    with pytest.raises(UnsafeModelError, match="more than 100,000 protobuf fields"):
        Predictor.from_bytes(data)
    assert time.perf_counter() - start < 10  # 30 s before the bound; ~1 s on a loaded 2-core machine
    with pytest.raises(UnsafeModelError, match="more than 320 nodes"):  # a chain short enough to be read
        Predictor.from_bytes(chained((exported_dir / "model.onnx").read_bytes(), "onnx", 400))


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_sequence_graphs_node_bound_follows_its_layers(sequence_exported_dir, fmt):
    data = (sequence_exported_dir / f"model.{fmt}").read_bytes()
    Predictor.from_bytes(chained(data, fmt, 100))
    with pytest.raises(UnsafeModelError, match=r"more than 384 .*\(256 \+ 64 per cell\)"):
        Predictor.from_bytes(chained(data, fmt, 400))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "changes, said",
    [
        ({"layers": 1, "units": 32}, "LSTM"),  # 2 x 1 x 32 = 64 floats: the graph's 2 x 2 x 16
        ({"layers": 4, "units": 8}, "LSTM"),
        ({"embedding_dim": 8}, "(features|table)"),
    ],
)
def test_a_sequence_config_that_contradicts_the_graphs_lstms_is_refused(sequence_exported_dir, fmt, changes, said):
    data = (sequence_exported_dir / f"model.{fmt}").read_bytes()
    assert Predictor.from_bytes(data).state_size == 64
    with pytest.raises(CorruptModelError, match=said) as info:
        Predictor.from_bytes(with_config(data, fmt, **changes))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("changes", [{"units": 16}, {"embedding_dim": 4}, {"seq_len": 2}])
def test_a_window_config_that_contradicts_the_graph_is_refused(exported_dir, fmt, changes):
    data = (exported_dir / f"model.{fmt}").read_bytes()
    with pytest.raises(CorruptModelError):
        Predictor.from_bytes(with_config(data, fmt, **changes))


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_fuzzers_config_edits_are_refused(sequence_exported_dir, exported_dir, fmt):
    for folder in (sequence_exported_dir, exported_dir):
        base = mutations.make_base("m", (folder / f"model.{fmt}").read_bytes(), fmt)
        for seed in range(4):
            data, detail = structure.config_against_graph(base, random.Random(seed))
            with pytest.raises(CorruptModelError):
                Predictor.from_bytes(data)
