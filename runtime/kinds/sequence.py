"""The sequence kind: a stateful LSTM step graph (runtime/contract.py) that reads a text from its start (JS
twin: runtime/js/src/kinds/sequence.js). Its state is a Step; a Session (runtime/session.py) carries one
between calls, so each new word costs one engine step. ONNX graphs take any number of ids per call, TFLite
graphs a fixed one (1), so ids are fed in calls of that many."""

from __future__ import annotations

import numpy as np
from nextword.runtime.contract import START_ID
from nextword.runtime.errors import CorruptModelError, InputError
from nextword.runtime.kinds.base import KindModel
from nextword.runtime.session import Session


class Step:
    """What one engine call left behind: the next word's top-k and the state. Arrays are never written to,
    so sessions share them freely (copy() is O(1)). A slotted class, not a dataclass: one is made per typed
    word, and a frozen dataclass's __init__ costs several times as much."""

    __slots__ = ("top_probs", "top_ids", "state", "before", "last_ids", "probs")

    def __init__(self, top_probs, top_ids, state, before, last_ids, probs=None):
        self.top_probs = top_probs  # [K] float32, highest first
        self.top_ids = top_ids  # [K] int32
        self.state = state  # [1, S] float32: the state after the ids
        self.before = before  # [1, S]: the state before the last engine call, to recompute its full distribution
        self.last_ids = last_ids  # [1, n] int32: that call's ids
        self.probs = probs  # [vocab], when the call fetched it


class SequenceModel(KindModel):
    name = "sequence"

    def __init__(self, engine, bundle, source: str):
        super().__init__(engine, bundle, source)
        self.state_size = bundle.config.state_size
        shape = tuple(engine.input_shape)
        steps = shape[1] if len(shape) == 2 else None
        self.steps = steps if isinstance(steps, int) and steps > 0 else None  # ids per engine call (None: any)
        self.start_step = None  # the Step after the start id, the same for every text (start())

    def check_signature(self) -> None:
        engine, config, source = self.engine, self.config, self.source
        state, state_out = engine.roles.state, engine.roles.state_out
        if state is None:
            raise CorruptModelError(
                f"{source}: the bundled config describes a sequence model but the file holds a window graph"
            )
        in_shape = engine.input_shape
        steps = in_shape[1] if len(in_shape) == 2 else None
        if len(in_shape) != 2 or (isinstance(steps, int) and steps not in (-1, 1)):
            raise CorruptModelError(
                f"{source}: ids input shape {list(in_shape)}; a step graph takes [batch, n] with n dynamic or 1"
            )
        for port in (state, state_out):
            if len(port.shape) != 2 or port.shape[1] != config.state_size:
                raise CorruptModelError(
                    f"{source}: {port.name} has shape {list(port.shape)} but the bundled config's state is "
                    f"{config.state_size} wide (2 x {config.layers} layers x {config.units} units)"
                )
        self.check_vocabulary()

    def warm_up(self) -> None:
        self.start_step = self.run(self.zero_state(), np.array([[START_ID]], dtype=np.int32), full=True)[0]
        self.checked_top(self.start_step.top_ids.tolist(), self.start_step.top_probs.tolist())
        self.check_sum(self.start_step.probs)

    # --- state: a Step ---------------------------------------------------------------------------------
    def start(self) -> Step:
        """The Step after the start id from the zero state; computed once (a race computes it twice, harmlessly)."""
        if self.start_step is None:
            self.start_step = self.run(self.zero_state(), np.array([[START_ID]], dtype=np.int32))[0]
        return self.start_step

    def begin(self, ids: list[int], *, full: bool = False) -> Step:
        start = self.start()
        if ids:
            return self.advance(start, ids, full=full)
        return self.full(start) if full else start

    def advance(self, step: Step, ids: list[int], *, full: bool = False) -> Step:
        return self.run(step.state, np.array([ids], dtype=np.int32), full=full)[0]

    def full(self, step: Step) -> Step:
        """The same Step with its whole distribution: the last engine call again, when it did not fetch it."""
        return step if step.probs is not None else self.run(step.before, step.last_ids, full=True)[0]

    def top(self, step: Step, k: int) -> tuple[list[int], list[float]]:
        if k <= len(step.top_ids):
            return self.checked_top(step.top_ids[:k].tolist(), step.top_probs[:k].tolist())
        return self.ranked(self.full(step).probs, k)

    def probs(self, step: Step) -> np.ndarray:
        return self.full(step).probs

    def choose(self, step: Step, choice) -> int:
        if choice.fits_in(len(step.top_ids)):
            self.checked_top(step.top_ids.tolist(), step.top_probs.tolist())
            chosen = choice.from_top(step.top_ids, step.top_probs)
            if chosen is not None:
                return chosen
        return choice.from_probs(self.probs(step))

    def top_batch(self, id_lists: list, k: int, batch_size: int) -> list:
        """Texts grouped by their number of ids, so no row is padded (padding would change the state):
        one engine call per group and chunk of `batch_size` (per id and chunk with a fixed-n TFLite graph)."""
        groups: dict[int, list[int]] = {}
        for index, ids in enumerate(id_lists):
            groups.setdefault(len(ids), []).append(index)
        results: list = [None] * len(id_lists)
        full = k > self.top_k  # more words than the graph's top-k: rank the whole distribution
        start = self.full(self.start()) if full else self.start()
        for n, members in groups.items():
            for at in range(0, len(members), batch_size):
                rows = members[at : at + batch_size]
                if n == 0:
                    steps = [start] * len(rows)
                else:
                    ids = np.array([id_lists[i] for i in rows], dtype=np.int32)
                    steps = self.run(np.repeat(start.state, len(rows), axis=0), ids, full=full)
                for i, step in zip(rows, steps):
                    results[i] = self.top(step, k)
        return results

    # --- engine calls ----------------------------------------------------------------------------------
    def zero_state(self) -> np.ndarray:
        return np.zeros((1, self.state_size), dtype=np.float32)

    def run(self, state: np.ndarray, ids: np.ndarray, *, full: bool = False) -> list[Step]:
        """Run ids [batch, n] from state [batch, S]: one engine call (or one per `steps` ids). A Step per row."""
        n = ids.shape[1]
        per_call = self.steps or n
        for at in range(0, n, per_call):
            before, chunk = state, ids[:, at : at + per_call]
            top_probs, top_ids, state, probs = self.engine.step(chunk, state, full=full and at + per_call >= n)
            self.check_step(top_probs, top_ids, state, len(ids))  # before the state is fed to the next call
        if probs is not None:
            self.checked_probs(probs, len(ids))
            self.check_top_against_probs(top_probs, top_ids, probs)
        return [
            Step(
                top_probs[i],
                top_ids[i],
                state[i : i + 1],
                before[i : i + 1],
                chunk[i : i + 1],
                None if probs is None else probs[i],
            )
            for i in range(len(ids))
        ]

    def check_step(self, top_probs: np.ndarray, top_ids: np.ndarray, state: np.ndarray, rows: int) -> None:
        top = (rows, self.top_k)
        if top_probs.shape != top or top_ids.shape != top or state.shape != (rows, self.state_size):
            raise CorruptModelError(
                f"{self.source}: the model returned top-k {list(top_ids.shape)[:4]} and state {list(state.shape)[:4]} "
                f"for {rows} rows; expected {list(top)} and {[rows, self.state_size]}"
            )
        if not np.isfinite(state).all():
            raise CorruptModelError(f"{self.source}: the model returned a state that is not finite")

    # --- evaluation and sessions -----------------------------------------------------------------------
    def stream_reader(self, ids: np.ndarray):
        """read(n) -> the distributions [n, vocab] that predict the next n ids of `ids`, read as one text from a
        reset (one engine step per id: the graph returns the distribution after its last id). Calls must come in
        order, as metrics.evaluate_windows makes them."""
        ids = np.asarray(ids, dtype=np.int32)
        if ids.size and (ids.min() < 1 or ids.max() >= self.vocab_size):
            raise InputError(f"ids must be in [1, {self.vocab_size})")
        position, step = 0, self.start()

        def read(n: int) -> np.ndarray:
            nonlocal position, step
            rows = []
            for _ in range(n):
                step = self.full(step)  # the start step may have been computed without its full distribution
                rows.append(step.probs)
                if position < len(ids) - 1:
                    step = self.advance(step, ids[position : position + 1].tolist(), full=True)
                position += 1
            return np.stack(rows) if rows else np.zeros((0, self.vocab_size), dtype=np.float32)

        return read

    def evaluation_orders(self) -> tuple[int, ...]:
        """The Kneser-Ney orders `nextword evaluate` compares with by default."""
        return (4, 5)  # a model of the whole text against the usual strong n-grams

    def evaluate_tail(self, predictor, *args, **options):
        """`nextword evaluate`'s held-out tail, read as this kind reads text (runtime/evaluate.py)."""
        # Imported here: evaluation code (n-grams, metrics) is loaded only by those who evaluate.
        from nextword.runtime.evaluate import evaluate_stream_tail

        return evaluate_stream_tail(predictor, *args, **options)

    def probabilities(self, contexts: np.ndarray) -> np.ndarray:
        raise InputError(f"{self.source} is a sequence model: it reads a text's ids from its start, not windows")

    def session(self, predictor) -> Session:
        return Session(predictor, self)
