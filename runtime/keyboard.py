"""Keyboard metrics for `nextword evaluate`: what a suggestion bar would have done on held-out text, scored from
any distribution over the vocabulary (a model's, an n-gram's), so every row of the report goes through this code.

The protocol (the README's `evaluate` entry says the same):

* A bar shows only words a keyboard can show: never padding (id 0), the OOV token, or an id without a word.
* Keyboard top-k: the target is among the k likeliest words the bar can show, ties to the lower id as in
  metrics' top-k. A target outside the vocabulary (the OOV id) is a miss.
* Keystrokes: before each letter of the target word the bar shows the `shown` likeliest words that start with
  the letters typed so far of that word (nothing typed: the plain next-word suggestions); matching ignores case.
  As `suggest` does, the bar never offers the word exactly as typed (the typist types lowercase, so a word whose
  display casing differs, "I" or "London", is offered: its tap would fix the case).
  If the target is shown, one tap enters it and its space: the letters typed so far plus 1. Otherwise the next
  letter is typed. A word never shown costs its letters plus the space, len + 1; a word outside the vocabulary
  always does. Savings = 1 - keystrokes / sum(len + 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nextword.runtime.completion import PrefixIndex
from nextword.runtime.errors import InputError

DEFAULT_SHOWN = 3  # a phone's bar
TOP_K = (1, 3)


def check_shown(shown) -> int:
    if not isinstance(shown, (int, np.integer)) or isinstance(shown, bool):
        raise InputError(f"shown must be an integer number of suggestions, got {str(shown)[:20]!r}")
    if shown < 1:
        raise InputError(f"shown must be at least 1 (how many suggestions the bar holds), got {shown}")
    return int(shown)


class Keyboard:
    """A bar over one vocabulary, built once per evaluation; each scored distribution gets its own tally()."""

    def __init__(
        self, words: Sequence[str], oov_id: int | None, shown: int = DEFAULT_SHOWN, casing: dict[str, str] | None = None
    ):
        """words[id] is the word of id for every output id (words[0], padding, is ignored); casing: the model's
        display casing table (runtime/casing.py)."""
        self.shown = check_shown(shown)
        self.casing = casing or {}
        self.words = [word.lower() for word in words]  # what typed letters are matched against
        self.index = PrefixIndex(self.words, {oov_id} if oov_id is not None else set())
        self.visible = np.zeros(len(words), dtype=bool)
        self.visible[self.index.ids] = True
        self._ranges: dict[str, tuple[int, int]] = {}  # what a prefix's bar offers, bisected once per evaluation

    def tally(self, targets: np.ndarray, typed: Sequence[str]) -> KeyboardTally:
        """Counts for one distribution's rows over `targets`; typed[i] is the word of targets[i] as written."""
        return KeyboardTally(self, targets, typed)

    def offered(self, prefix: str) -> tuple[int, int]:
        """[lo, hi) of the index positions a bar may offer after typing prefix: the words that start with it, less
        the word spelled as typed when it shows as typed (it sorts first)."""
        if prefix not in self._ranges:
            lo, hi = self.index.range(prefix)
            if hi > lo and self.index.words[lo] == prefix and self.casing.get(prefix, prefix) == prefix:
                lo += 1
            self._ranges[prefix] = lo, hi
        return self._ranges[prefix]

    def ranks(self, ordered: np.ndarray, target_probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Each target's rank among the words the bar can show, ties to the lower id, from `ordered` (the rows'
        probabilities at index.ids, in the index's order); a target the bar cannot show gets len(index.ids)."""
        p = target_probs[:, None]
        ahead = (ordered > p) | ((ordered == p) & (self.index.ids[None, :] < targets[:, None]))
        return np.where(self.visible[targets], np.count_nonzero(ahead, axis=1), ordered.shape[1])

    def keystrokes(self, ordered_row: np.ndarray, target: int, p: float, rank: int, word: str) -> int:
        """What typing `word` (the target, id `target`, probability p) costs with this row's bar; rank: its rank
        among every word the bar can show, i.e. in the bar before any letter."""
        if not self.visible[target]:
            return len(word) + 1
        if rank < self.shown:
            return 1
        letters = self.words[target]  # the target's own letters, so each prefix's range holds it
        for typed in range(1, len(letters)):
            lo, hi = self.offered(letters[:typed])
            if hi - lo <= self.shown:
                return typed + 1
            # Shown exactly when fewer than `shown` words of the range rank ahead of it: no sort, no partition.
            segment, ids = ordered_row[lo:hi], self.index.ids[lo:hi]
            ahead = np.count_nonzero(segment > p) + np.count_nonzero((segment == p) & (ids < target))
            if ahead < self.shown:
                return typed + 1
        return len(letters) + 1


class KeyboardTally:
    """Keyboard top-k and keystrokes over one distribution's rows, fed a batch at a time in order."""

    def __init__(self, keyboard: Keyboard, targets: np.ndarray, typed: Sequence[str]):
        targets = np.asarray(targets, dtype=np.int64)
        if len(targets) != len(typed):
            raise InputError(f"{len(targets)} targets but {len(typed)} typed words")
        if len(targets) and (targets.min() < 0 or targets.max() >= len(keyboard.visible)):
            raise InputError(f"target ids must lie in 0..{len(keyboard.visible) - 1}")
        self.keyboard, self.targets, self.typed = keyboard, targets, typed
        self.done = 0
        self.hits = dict.fromkeys(TOP_K, 0)
        self.keystrokes = 0

    def add(self, probs: np.ndarray, start: int) -> None:
        """probs[i] is the distribution that predicts targets[start + i]."""
        if start != self.done or probs.shape[1] != len(self.keyboard.visible):
            raise InputError(f"keyboard rows out of order or of the wrong width ({probs.shape} from row {start})")
        kb = self.keyboard
        targets = self.targets[start : start + len(probs)]
        ordered = probs[:, kb.index.ids]  # alphabetical columns: the words of a prefix are one slice
        target_probs = probs[np.arange(len(targets)), targets]
        ranks = kb.ranks(ordered, target_probs, targets)
        for k in TOP_K:
            self.hits[k] += int(np.count_nonzero(ranks < k))
        rows = zip(targets.tolist(), target_probs.tolist(), ranks.tolist())
        for row, (target, p, rank) in enumerate(rows):
            self.keystrokes += kb.keystrokes(ordered[row], target, p, rank, self.typed[start + row])
        self.done = start + len(probs)

    def result(self) -> dict:
        if self.done != len(self.targets) or not self.done:
            raise InputError(f"keyboard scored {self.done} of {len(self.targets)} rows")
        total = len(self.targets)
        result = {f"keyboard_top{k}": self.hits[k] / total for k in TOP_K}
        result["keystroke_savings"] = 1.0 - self.keystrokes / unpredicted_keystrokes(self.typed)
        return result


def unpredicted_keystrokes(typed: Sequence[str]) -> int:
    """Typing every word in full, each followed by its space."""
    return sum(len(word) + 1 for word in typed)
