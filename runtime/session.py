"""A typing session over a sequence-kind model: the LSTM state is carried, so each new word costs one step.

s = predictor.session()
s.feed("to be or")      # runs only these words (one engine call in ONNX, one per word in TFLite)
s.predict(k=5)          # from the last step's outputs: no engine call
s.feed("not")           # one more step
t = s.copy()            # a branch: feeding t never changes s (for sampling or beams)
s.generate(5)           # generated words are fed too: one step per word, whatever the text's length
s.reset()               # the start of a new text

Text fed in pieces tokenizes as the whole text only if each piece ends at a word boundary: feeding "to b" then
"e" feeds the words "to", "b", "e". Splitting at spaces is the caller's job (a keyboard feeds finished words).

A session belongs to one caller (it is not locked); the Predictor behind it may be shared by any number of
sessions and threads.
"""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import InputError


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


class Session:
    def __init__(self, predictor):
        self._predictor = predictor
        self.reset()

    def reset(self) -> None:
        """Forget the text: back to the state after the start id (cached by the Predictor: no engine call)."""
        self._step = self._predictor._start_step()
        self.unknown_words: tuple[str, ...] = ()  # words fed since the reset that the vocabulary lacks
        self.words_fed = 0  # ids fed since the reset (unknown words without an OOV id are dropped, not counted)

    def copy(self) -> Session:
        """An independent session at the same point of the same text."""
        other = Session.__new__(Session)
        other._predictor, other._step = self._predictor, self._step
        other.unknown_words, other.words_fed = self.unknown_words, self.words_fed
        return other

    @property
    def state(self) -> np.ndarray:
        """A copy of the LSTM state [S], laid out [h_1, c_1, h_2, c_2, ...] (runtime/contract.py)."""
        return self._step.state[0].copy()

    def feed(self, text: str) -> tuple[str, ...]:
        """Run the words of `text` (only these); returns the ones the vocabulary lacks."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        ids, unknown = self._predictor.tokenizer.encode_words(text)
        if ids:
            self.feed_ids(ids)
        if unknown:
            self.unknown_words += tuple(unknown)
        return tuple(unknown)

    def feed_ids(self, ids) -> None:
        """Run token ids (1 .. vocab_size - 1) as if their words had been fed."""
        # A list (what the tokenizer returns) is checked in plain Python: numpy's min/max cost more than
        # the check itself on a few ids, and this runs once per typed word.
        ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        if not ids:
            return
        p = self._predictor
        if min(ids) < 1 or max(ids) >= p.vocab_size:
            raise InputError(f"ids must be in [1, {p.vocab_size})")
        self._step = p._advance(self._step.state, np.array([ids], dtype=np.int32))[0]
        self.words_fed += len(ids)

    def predict(self, k: int = 5):
        """The k likeliest next words from the last step: no engine call for k up to the graph's top-k (10)."""
        p = self._predictor
        k = p._check_k(k)
        if k <= len(self._step.top_ids):
            return p._prediction(self._step.top_probs, self._step.top_ids, k, self.unknown_words)
        from nextword.runtime.predictor import Prediction

        return Prediction(p._top_k(self._full_probs(), k), self.unknown_words)

    def generate(
        self,
        n_words: int = 20,
        *,
        strategy: str = "greedy",
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> str:
        """The next `n_words` words, fed into the session as they are chosen: one engine step per word.

        Greedy and top-k sampling (top_k below the graph's top-k) read the graph's own top-k outputs; plain
        sampling fetches the full distribution with each step. The OOV token is never generated."""
        p = self._predictor
        top_k = p._check_generate_args(n_words, strategy, temperature, top_k)
        rng = np.random.default_rng(seed)
        oov = p._oov_id
        graph_k = len(self._step.top_ids)
        # Whether the graph's top-k holds every candidate, the OOV id (which is skipped) included.
        from_top = strategy == "greedy" or (top_k is not None and top_k + (oov is not None) <= graph_k)
        words = []
        for _ in range(n_words):
            next_id = self._choose(strategy, temperature, top_k, rng, from_top)
            words.append(p._word_list[next_id])
            self._step = p._advance(self._step.state, np.array([[next_id]], np.int32), full=not from_top)[0]
            self.words_fed += 1
        return " ".join(words)

    def _choose(self, strategy, temperature, top_k, rng, from_top: bool) -> int:
        from nextword.runtime.predictor import sample

        p, step = self._predictor, self._step
        if from_top:
            p._prediction(step.top_probs, step.top_ids, len(step.top_ids), ())  # ids and probabilities checked
            keep = step.top_ids != p._oov_id if p._oov_id is not None else np.ones(len(step.top_ids), bool)
            ids, probs = step.top_ids[keep], step.top_probs[keep].astype(np.float64)
            if len(ids) and strategy == "greedy":
                return int(ids[0])
            if len(ids) >= (top_k or 0) > 0:
                return int(ids[sample(probs[:top_k], temperature, None, rng)])
        probs = self._full_probs()[1:].astype(np.float64)  # id 0 is the start/padding id, never a word
        if p._oov_id is not None and len(probs) > 1:
            probs[p._oov_id - 1] = 0.0
        if strategy == "greedy":
            return int(np.argmax(probs)) + 1
        return sample(probs, temperature, top_k, rng) + 1

    def _full_probs(self) -> np.ndarray:
        step = self._step
        if step.probs is None:  # recompute the last call with the full distribution: one engine call
            step = self._predictor._advance(step.before, step.last_ids, full=True)[0]
            self._step = step
        return step.probs
