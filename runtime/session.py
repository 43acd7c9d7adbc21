"""A typing session: the sequence kind's own state object (JS twin: runtime/js/src/session.js). The LSTM state
is carried, so each new word costs one step.

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
from nextword.runtime.casing import starts_sentence
from nextword.runtime.errors import InputError
from nextword.runtime.suggest import previous_word


class Session:
    def __init__(self, predictor, model, user=None):
        self.predictor = predictor  # text, words and k
        self.model = model  # the sequence kind (runtime/kinds/sequence.py): steps
        self.user = user  # a UserModel suggest() mixes in (runtime/user_model.py), or None
        # Set by the first bar that needed the whole distribution (a completion): from then on each step fetches
        # it in the same engine call, instead of running the step again at the next word's first letter.
        self.fetches_full = False
        self.reset()

    def reset(self) -> None:
        """Forget the text: back to the state after the start id (computed once per model: no engine call)."""
        self.step = self.model.start()
        self.unknown_words: tuple[str, ...] = ()  # words fed since the reset that the vocabulary lacks
        self.words_fed = 0  # ids fed since the reset (unknown words without an OOV id are dropped, not counted)
        self.sentence_start = True  # whether the next word starts a sentence (display casing capitalizes it)
        self.previous: str | None = None  # the last word fed, lowercase: a user model's context

    def copy(self) -> Session:
        """An independent session at the same point of the same text."""
        other = Session.__new__(Session)
        other.predictor, other.model, other.step = self.predictor, self.model, self.step
        other.unknown_words, other.words_fed = self.unknown_words, self.words_fed
        other.sentence_start, other.previous, other.user = self.sentence_start, self.previous, self.user
        other.fetches_full = self.fetches_full
        return other

    @property
    def state(self) -> np.ndarray:
        """A copy of the LSTM state [S], laid out [h_1, c_1, h_2, c_2, ...] (runtime/contract.py)."""
        return self.step.state[0].copy()

    def feed(self, text: str) -> tuple[str, ...]:
        """Run the words of `text` (only these); returns the ones the vocabulary lacks."""
        ids, unknown = self.predictor.encode_words(text)
        if ids:
            self.feed_ids(ids)
        if unknown:
            self.unknown_words += unknown
        if text.strip():
            self.sentence_start = starts_sentence(text)
            self.previous = previous_word(text)
        return unknown

    def feed_ids(self, ids) -> None:
        """Run token ids (1 .. vocab_size - 1) as if their words had been fed."""
        # A list (what the tokenizer returns) is checked in plain Python: numpy's min/max cost more than
        # the check itself on a few ids, and this runs once per typed word. Only integers are ids: 1.5, True
        # and b"ab" would otherwise run as 1, 1 and 97, 98 (numpy would truncate a float array the same way).
        vocab_size = self.predictor.vocab_size
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1 or ids.dtype.kind not in "iu":
                raise InputError(f"ids must be integers in [1, {vocab_size}), got an array of {ids.dtype} {ids.shape}")
            ids = ids.tolist()
        elif isinstance(ids, (str, bytes, bytearray, memoryview)):
            raise InputError(f"ids must be integers in [1, {vocab_size}), not {type(ids).__name__}")
        else:
            ids = list(ids)
            if not all(type(i) is int for i in ids):  # exact: a bool is an int subclass
                if not all(isinstance(i, np.integer) or type(i) is int for i in ids):
                    raise InputError(f"ids must be integers in [1, {vocab_size}), not bool, float or str")
                ids = [int(i) for i in ids]
        if not ids:
            return
        if min(ids) < 1 or max(ids) >= vocab_size:
            raise InputError(f"ids must be in [1, {vocab_size})")
        # With a user model every bar reads the whole distribution, and so does a completion: once one was asked
        # for, fetch it with the step (one engine call).
        self.step = self.model.advance(self.step, ids, full=self.user is not None or self.fetches_full)
        self.words_fed += len(ids)
        self.sentence_start = False
        self.previous = None  # ids carry no written word

    def predict(self, k: int = 5):
        """The k likeliest next words from the last step: no engine call for k up to the graph's top-k (10)."""
        k = self.predictor.check_k(k)
        if k > len(self.step.top_ids):
            self.step = self.model.full(self.step)  # kept: the next predict(k) costs no call either
        return self.predictor.prediction(*self.model.top(self.step, k), self.unknown_words)

    def suggest(self, partial: str = "", k: int = 3):
        """What a suggestion bar shows after the words fed so far: the k likeliest next words, or, with the letters
        typed of the current word in `partial`, the k likeliest words that complete it (Predictor.suggest)."""
        k = self.predictor.check_k(k)
        suggester = self.predictor.suggester
        partial = suggester.check_partial(partial)
        if suggester.needs_distribution(partial, k, len(self.step.top_ids)) or self.user is not None:
            self.fetches_full = True
            self.step = self.model.full(self.step)  # kept: the next letter of the same word costs no engine call
        return self.predictor.suggestions(
            self.step, partial, k, self.sentence_start, self.unknown_words, self.user, self.previous
        )

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
        choice = self.predictor.check_generate(n_words, strategy, temperature, top_k, seed)
        text, self.step = self.predictor.continue_from(self.step, n_words, choice)
        if n_words:
            self.previous = previous_word(text)  # the user model's context is the last generated word
        self.words_fed += n_words
        self.sentence_start = self.sentence_start and not n_words
        return text
