"""`nextword evaluate --adapt`: the keyboard protocol (runtime/keyboard.py) typed by a user whose keyboard learns.

The simulated user types the held-out words in order; after each word is entered it is committed to a UserModel
(runtime/user_model.py), as a keyboard app would call user.learn(). Every bar is what Predictor.suggest with that
user model shows (runtime/suggest.py Suggester.mixed), so a word outside the model's vocabulary that the user typed
before can now be tapped. Any distribution can be adapted, the model's or a Kneser-Ney baseline's: the gain is
measured against the same cache on the n-gram. Savings are reported over every word and over the words after the
first WARM_UP (the user model has then seen that many).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nextword.runtime.keyboard import Keyboard, unpredicted_keystrokes
from nextword.runtime.topk import chunk_starts, top_k_indices
from nextword.runtime.user_model import UserModel

WARM_UP = 2000  # typed words before the "after warm-up" figures start


class RowModel:
    """One row of a distribution, shaped as the kind interface Suggester reads (probs and top of a state)."""

    def __init__(self, row: np.ndarray, starts):
        self.row, self.starts, self.vocab_size = row, starts, len(row)

    def probs(self, state) -> np.ndarray:
        return self.row

    def top(self, state, k: int):
        top = top_k_indices(self.row[1:], k, self.starts) + 1
        return top.tolist(), self.row[top].tolist()


class Tallies:
    """Several tallies fed the same batches (evaluate_windows takes one)."""

    def __init__(self, *tallies):
        self.tallies = tallies

    def add(self, probs: np.ndarray, start: int) -> None:
        for tally in self.tallies:
            tally.add(probs, start)

    def result(self) -> dict:
        merged = {}
        for tally in self.tallies:
            merged.update(tally.result())
        return merged


class AdaptedTally:
    """Keyboard top-1 and keystrokes with a user model learning every typed word, plus the same keyboard without
    it over the words after the warm-up (for a like-for-like comparison there)."""

    def __init__(self, suggester, keyboard: Keyboard, targets: np.ndarray, typed: Sequence[str]):
        self.suggester, self.shown, self.typed = suggester, keyboard.shown, [word.lower() for word in typed]
        self.user = UserModel()
        self.starts = chunk_starts(len(keyboard.visible) - 1)
        self.costs: list[int] = []
        self.top1 = 0
        warm = min(WARM_UP, len(typed) - 1)
        self.after = keyboard.tally(np.asarray(targets)[warm:], list(typed)[warm:]), warm

    def add(self, probs: np.ndarray, start: int) -> None:
        for row in range(len(probs)):
            at = start + row
            word = self.typed[at]
            previous = self.typed[at - 1] if at else None
            model = RowModel(probs[row], self.starts)
            self.costs.append(self.keystrokes(model, previous, word))
            first = self.bar(model, previous, "", 1)
            self.top1 += bool(first) and first[0] == word
            self.user.learn(word)
        plain, warm = self.after
        if start + len(probs) > warm:
            skip = max(0, warm - start)
            plain.add(probs[skip:], start + skip - warm)

    def bar(self, model: RowModel, previous: str | None, prefix: str, k: int) -> list[str]:
        shown = self.suggester.mixed(model, None, prefix, k, self.user, previous, False)
        return [word.lower() for word, _ in shown]

    def keystrokes(self, model: RowModel, previous: str | None, word: str) -> int:
        for typed in range(len(word)):
            if word in self.bar(model, previous, word[:typed], self.shown):
                return typed + 1
        return len(word) + 1

    def result(self) -> dict:
        plain, warm = self.after
        after = self.costs[warm:]
        return {
            "adapted_keyboard_top1": self.top1 / len(self.costs),
            "adapted_keystroke_savings": 1.0 - sum(self.costs) / unpredicted_keystrokes(self.typed),
            "adapted_keystroke_savings_after_warm_up": 1.0 - sum(after) / unpredicted_keystrokes(self.typed[warm:]),
            "keystroke_savings_after_warm_up": plain.result()["keystroke_savings"],
            "warm_up_words": warm,
        }
