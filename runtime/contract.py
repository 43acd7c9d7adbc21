"""The file format, in one place: what an exported file holds and what the runtime may rely on.

Graph of the "window" kind (the same names in ONNX and TFLite):

    tokens     int32   [batch, seq_len - 1]   context ids, 0 = padding
    probs      float32 [batch, vocab_size]    next-word distribution, as Keras computes it
    top_probs  float32 [batch, K]             the K most likely words' probabilities, highest first
    top_ids    int32   [batch, K]             their ids (never 0), ties to the lower id

Graph of the "sequence" kind, a step graph with explicit state, so a device pays for the new words only:

    tokens     int32   [batch, n]             the next n ids of each text (n: dynamic in ONNX, fixed in TFLite)
    state      float32 [batch, S]             LSTM state before them, S = 2 * layers * units,
                                              laid out [h_1, c_1, h_2, c_2, ...] (each `units` wide)
    probs, top_probs, top_ids                 as above, for the word after the last of the n ids
    state_out  float32 [batch, S]             the state after them: the `state` of the next call

A text starts from the zero state with the start id 0 fed first (training puts 0 before every text).

Why top-k lives in the graph: selecting 5 of a few thousand probabilities in numpy costs 8-20 us per
call, as much as the whole LSTM; the engines' TopK kernels do it in a fraction of that and the runtime
copies out K numbers instead of the whole vocabulary.

Metadata (ONNX metadata_props, TFLite Model.metadata): the format version, the legacy-Keras tokenizer
JSON and the training config JSON (nextword.runtime.bundle encodes and decodes them).
"""

from __future__ import annotations

# --- formats the exporter writes and the runtime loads ---------------------------------------------
FORMATS = ("onnx", "tflite")
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8")  # "none": float32 only; the others add model.<mode>.* files

# --- model kinds (runtime/kinds/, runtime/js/src/kinds/) ---------------------------------------------
KINDS = ("window", "sequence")

# --- graph -------------------------------------------------------------------------------------------
INPUT = "tokens"
PROBS = "probs"
TOP_PROBS = "top_probs"
TOP_IDS = "top_ids"
OUTPUTS = (PROBS, TOP_PROBS, TOP_IDS)
STATE = "state"  # sequence kind only
STATE_OUT = "state_out"
START_ID = 0  # sequence kind: fed first after a reset, so the first word is predicted from "start of text"
MAX_TOP_K = 10  # covers keyboard suggestion bars and top-10 lists; larger k falls back to `probs`


def top_k_size(vocab_size: int) -> int:
    return min(MAX_TOP_K, vocab_size - 1)


def expected_shapes(context_len: int, vocab_size: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape without the batch dimension)."""
    k = top_k_size(vocab_size)
    return {
        INPUT: ("int32", (context_len,)),
        PROBS: ("float32", (vocab_size,)),
        TOP_PROBS: ("float32", (k,)),
        TOP_IDS: ("int32", (k,)),
    }


# --- bundled metadata --------------------------------------------------------------------------------
# 1: window kind only (no `kind` in the config). 2: `kind` in the config, and the sequence kind.
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
KINDS_BY_VERSION = {1: ("window",), 2: KINDS}  # the kinds a file of each format version may hold
KEY_FORMAT_VERSION = "nextword.format_version"
KEY_TOKENIZER = "nextword.tokenizer"
KEY_CONFIG = "nextword.config"
METADATA_KEYS = (KEY_FORMAT_VERSION, KEY_TOKENIZER, KEY_CONFIG)
# Optional, read when present (a file without it loads and shows lowercase words): the display-casing table,
# a JSON object word -> written form (runtime/casing.py).
KEY_CASING = "nextword.casing"

# What the JavaScript runtime must agree on, written to runtime/js/src/contract.js by
# runtime/js/scripts/make_contract.py (tests/runtime/test_contract.py fails when the two differ).
SHARED_WITH_JS = (
    "KINDS",
    "INPUT",
    "PROBS",
    "TOP_PROBS",
    "TOP_IDS",
    "STATE",
    "STATE_OUT",
    "START_ID",
    "MAX_TOP_K",
    "FORMAT_VERSION",
    "READABLE_FORMAT_VERSIONS",
    "KINDS_BY_VERSION",
    "KEY_FORMAT_VERSION",
    "KEY_TOKENIZER",
    "KEY_CONFIG",
    "METADATA_KEYS",
    "KEY_CASING",
)
