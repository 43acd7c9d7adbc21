"""Which engine port is which, read from the model itself (JS twin: runtime/js/src/signature.js).

Outputs are told apart by dtype and shape, never by name, so a re-exported or renamed graph still loads;
the kinds (runtime/kinds/) then check the shapes against the bundled config.
"""

from __future__ import annotations

from dataclasses import dataclass

from nextword.runtime.contract import STATE_OUT
from nextword.runtime.errors import CorruptModelError, VocabularyMismatchError


@dataclass(frozen=True)
class Port:
    name: str
    dtype: str  # numpy dtype name
    shape: tuple  # batch first; a dynamic dimension may be a name, None or -1


@dataclass(frozen=True)
class Roles:
    probs: Port
    top_probs: Port | None = None
    top_ids: Port | None = None
    state: Port | None = None  # the sequence kind's state input and output
    state_out: Port | None = None

    @property
    def top_k(self) -> int:
        return int(self.top_ids.shape[-1]) if self.top_ids is not None else 0


def read_signature(inputs: list[Port], outputs: list[Port]) -> tuple[str, tuple, Roles]:
    """Window kind: one int32 input; outputs are either [probs] or [probs, top_probs, top_ids], told apart by
    dtype and shape: the float output over the whole vocabulary is probs, the other float and the int32 are the
    top k. Sequence kind: int32 ids and a float32 state in; the top-k outputs and a float32 state_out as wide as
    the state (by name if two outputs are that wide) beside them."""
    ints_in = [i for i in inputs if i.dtype == "int32"]
    floats_in = [i for i in inputs if i.dtype == "float32"]
    if len(inputs) == 2 and len(ints_in) == 1 and len(floats_in) == 1 and len(floats_in[0].shape) == 2:
        return _read_sequence_signature(ints_in[0], floats_in[0], outputs)
    if len(inputs) != 1 or inputs[0].dtype != "int32":
        raise CorruptModelError(
            f"model inputs are {[(i.name, i.dtype) for i in inputs]}; expected one int32 input of ids "
            "(and, for a sequence model, one float32 state)"
        )
    floats = [o for o in outputs if o.dtype == "float32"]
    ints = [o for o in outputs if o.dtype == "int32"]
    if len(outputs) == 1 and floats:
        return inputs[0].name, inputs[0].shape, Roles(floats[0])
    if len(outputs) == 3 and len(floats) == 2 and len(ints) == 1 and all(len(o.shape) == 2 for o in outputs):
        top_probs, probs = sorted(floats, key=lambda o: width(o.shape[-1]))
        if width(top_probs.shape[-1]) == width(ints[0].shape[-1]) > 0 and width(probs.shape[-1]) > width(
            top_probs.shape[-1]
        ):
            return inputs[0].name, inputs[0].shape, Roles(probs, top_probs, ints[0])
    raise CorruptModelError(
        f"model outputs are {[(o.name, o.dtype, list(o.shape)) for o in outputs]}; expected "
        "float32 probabilities, optionally with float32 top-k probabilities and int32 top-k ids"
    )


def _read_sequence_signature(tokens: Port, state: Port, outputs: list[Port]) -> tuple[str, tuple, Roles]:
    state_width = width(state.shape[-1])
    candidates = [
        o for o in outputs if o.dtype == "float32" and len(o.shape) == 2 and width(o.shape[-1]) == state_width
    ]
    if len(candidates) > 1:
        candidates = [o for o in candidates if o.name == STATE_OUT]
    if len(outputs) == 4 and state_width > 0 and len(candidates) == 1:
        rest = [o for o in outputs if o is not candidates[0]]
        _, _, roles = read_signature([tokens], rest)
        if roles.top_k:
            return tokens.name, tokens.shape, Roles(roles.probs, roles.top_probs, roles.top_ids, state, candidates[0])
    raise CorruptModelError(
        f"model outputs are {[(o.name, o.dtype, list(o.shape)) for o in outputs]}; a sequence model needs float32 "
        f"probabilities, top-k probabilities and ids, and a float32 state_out as wide as its state ({state_width})"
    )


def width(dim) -> int:
    return dim if isinstance(dim, int) and dim > 0 else -1


def check_vocabulary_width(engine, config, source: str) -> None:
    """The distribution must have one probability per id of the bundled vocabulary, whatever the kind."""
    out_shape = engine.output_shape
    if len(out_shape) != 2 or out_shape[1] != config.vocab_size:
        raise VocabularyMismatchError(
            f"{source}: model outputs {out_shape[-1] if out_shape else '?'} probabilities "
            f"but the bundled vocabulary has {config.vocab_size} ids"
        )
