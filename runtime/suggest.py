"""What a suggestion bar shows (JS twin: runtime/js/src/suggest.js): the k likeliest words that complete the word
being typed, or, between words, the k likeliest next words; never the OOV token or padding, each word in its
display casing (runtime/casing.py).

    text "to be or n"  -> finished "to be or ", partial "n": the likeliest words starting with "n" after it, each
                          with its probability among those words (given the text and the letters typed)
    text "to be or "   -> finished "to be or ", partial "":  the likeliest next words, with their probabilities

A word ends where the tokenizer would end it: at its split string or at any of its filter characters. Typed
letters that start no vocabulary word get an empty list: the bar then shows what was typed, as it is. A completion
never offers the word exactly as it is typed ("the" after "the"): tapping it would save nothing a space does not,
so its slot goes to the next word ("there"). It is offered when its display casing differs ("I" after "i",
"London" after "london"): the tap then fixes the case. Its probability still counts in what the letters allow.
"""

from __future__ import annotations

from bisect import insort

import numpy as np
from nextword.runtime.casing import display, starts_sentence
from nextword.runtime.completion import PrefixIndex, top_ids
from nextword.runtime.errors import InputError
from nextword.runtime.user_model import ALPHA, WORD, clip


def previous_word(finished: str) -> str | None:
    """The context a user model reads: the last word of the finished text, unless a sentence ended after it."""
    if starts_sentence(finished):
        return None
    words = WORD.findall(finished)
    return clip(words[-1]).lower() if words else None


def split_partial(text: str, tokenizer) -> tuple[str, str]:
    """(the finished text, the letters typed of the current word); char-level models have no partial words."""
    if tokenizer.char_level:
        return text, ""
    filters, end = set(tokenizer.filters), len(text)
    while end and text[end - 1] not in filters:
        end -= 1
    split_at = text.rfind(tokenizer.split)  # the split string may be longer than one character
    if split_at >= 0:
        end = max(end, split_at + len(tokenizer.split))
    return text[:end], text[end:]


class Suggester:
    """The suggestion bar's logic over one model's vocabulary; built once per Predictor."""

    def __init__(self, words: list[str], oov_id: int | None, casing: dict[str, str], tokenizer):
        self.words = words
        self.oov_id = oov_id
        self.casing = casing
        self.tokenizer = tokenizer
        skip = {oov_id} if oov_id is not None else set()
        self.index = PrefixIndex(words, skip)
        self.hidden = skip | {i for i, word in enumerate(words) if i and not word}  # ids with no word to show
        self.shown_ids = {  # word -> id, for the words a bar can show: one look-up per candidate
            word: i for word, i in tokenizer.word_index.items() if i < len(words) and i not in self.hidden
        }

    def normalize(self, partial: str) -> str:
        return partial.lower() if self.tokenizer.lower else partial

    def check_partial(self, partial: str) -> str:
        if not isinstance(partial, str):
            raise TypeError(f"partial must be str, not {type(partial).__name__}")
        finished, rest = split_partial(partial, self.tokenizer)
        if finished:
            raise InputError(f"partial must be the letters of one word, got {partial[:40]!r} (feed finished words)")
        return rest

    def needs_distribution(self, partial: str, k: int, graph_k: int) -> bool:
        """Whether suggesting needs the whole distribution, not just the graph's own top-k."""
        return bool(partial) or k + len(self.hidden) > graph_k

    def suggest(
        self, model, state, partial: str, k: int, *, sentence_start: bool, user=None, previous: str | None = None
    ) -> list[tuple[str, float]]:
        capitalize = sentence_start or partial[:1].isupper()
        if user is not None and len(user):
            return self.mixed(model, state, partial, k, user, previous, capitalize)
        if partial:
            # Completions are ranked, and their probabilities given, among the words the letters allow: the
            # probability that the word being typed is this one, given the text so far and its first letters.
            probs, prefix = model.probs(state), self.normalize(partial)
            fitting, offered = self.fitting(prefix, self.shows_as_typed(prefix, partial, capitalize))
            ids = top_ids(probs, offered, k).tolist()
            mass = float(probs[fitting].sum(dtype=np.float64))
            chosen = [(i, p / mass) for i, p in zip(ids, probs[ids].tolist())] if mass > 0 else []
        else:
            ids, probs = model.top(state, min(k + len(self.hidden), model.vocab_size - 1))
            chosen = [(i, p) for i, p in zip(ids, probs) if i not in self.hidden][:k]
        return [(display(self.words[i], self.casing, capitalize=capitalize), p) for i, p in chosen]

    def mixed(self, model, state, partial: str, k: int, user, previous, capitalize: bool) -> list[tuple[str, float]]:
        """The model's distribution mixed with the user's (runtime/user_model.py has the formula), over the model's
        own top k, the user's most learned words and the context's successors. The successors are read highest
        count first and no further than one could still rank: what is skipped could not reach the top k, so the
        bar is the one scoring every candidate gives (tested against it), and the JS runtime reads them the same way."""
        probs, prefix = model.probs(state), self.normalize(partial)
        # The word exactly as typed (in the form this bar shows it) is never offered, see the module's docstring:
        # its key, which every stream skips.
        skip = bool(partial) and self.shows_as_typed(prefix, partial, capitalize, user.form(prefix))
        as_typed = prefix if skip else None
        model_ids, model_mass = self.model_top(model, state, probs, prefix, skip, k)
        # A word outside the model's top k has at most the k-th one's probability (none, when fewer words fit).
        floor = float(probs[model_ids[-1]]) if len(model_ids) == k else 0.0
        with user.reading(previous) as scorer:
            pairs, fits = scorer.fitting_by_count(prefix) if partial else (0, [])  # kept per prefix, highest first
            user_mass = scorer.mass(prefix, pairs) if partial else 1.0
            weight = scorer.weight if user_mass > 0 else 0.0
            weight = 1.0 if model_mass <= 0 else weight

            # score(w) = (1 - weight) * P_model(w) / model_mass + weight * P_user(w | v) / user_mass, with P_user
            # written out in the order of _Scorer.prob (the JS runtime must get the same floats), on what each
            # stream already knows: a model word comes with its id, a successor with its pair count. A bar scores
            # ~10 words, and calls and look-ups were most of its cost; _Scorer.prob stays the reference (tests
            # score every candidate with it and compare the bars).
            successors, count_of, learned = scorer.successors, scorer.index.count_of, scorer.learned
            shown_ids, prob_of, per_context = self.shown_ids, probs.item, scorer.followed + ALPHA
            user_side, model_side = user_mass > 0 and learned > 0, model_mass > 0  # False: that side scores 0
            scores = {}
            lowest_first = []  # the k highest scores so far, negated, so bisect keeps them highest first
            model_bound = (1.0 - weight) * (floor / model_mass if model_side else 0.0)

            def user_part(pair_count: int, count: float) -> float:
                return ((pair_count + ALPHA * count / learned) / per_context) / user_mass if user_side else 0.0

            def add(word: str, pair_count: int) -> None:
                word_id = shown_ids.get(word)
                model_part = prob_of(word_id) / model_mass if word_id is not None and model_side else 0.0
                own = user_part(pair_count, count_of.get(word, 0.0))
                scores[word] = value = (1.0 - weight) * model_part + weight * own
                if len(lowest_first) < k or -value < lowest_first[-1]:
                    insort(lowest_first, -value)
                    del lowest_first[k:]

            def beaten(pair_count: int, count: float) -> bool:
                """Whether a word outside the model's top k, with at most these counts, cannot reach the top k: the
                same operations as add's on larger operands, so rounding keeps it a bound."""
                return (
                    len(lowest_first) == k and model_bound + weight * user_part(pair_count, count) < -lowest_first[-1]
                )

            for i in model_ids:
                word = self.words[i]
                pair = successors.get(word)
                add(word, pair[0] if pair else 0)
            # Each stream comes highest count first: once one word is beaten, so is every later one.
            largest = scorer.index.largest
            if partial:
                for word, pair_count in fits:
                    if word == as_typed:
                        continue
                    if beaten(pair_count, largest):
                        break
                    if word not in scores:
                        add(word, pair_count)
                # The most learned words that fit: k of them, one more when the word as typed may be among them.
                for word in scorer.unigram_candidates(prefix, k + (as_typed is not None)):
                    if word not in scores and word != as_typed:
                        pair = successors.get(word)
                        add(word, pair[0] if pair else 0)
            else:
                for word in scorer.ranked.by_count if scorer.ranked is not None else ():
                    pair_count = successors[word][0]
                    if beaten(pair_count, largest):
                        break
                    if word not in scores:
                        add(word, pair_count)
                for word, count in scorer.unigrams_by_count():
                    if word in successors:
                        continue  # read above, with its pair count
                    if beaten(0, count):
                        break
                    if word not in scores:
                        add(word, 0)
            # Only words at or above the k-th score can be shown: sort those (ties to the alphabetically first).
            kth = -lowest_first[-1] if lowest_first else 0.0
            top = sorted((item for item in scores.items() if item[1] >= kth), key=lambda item: (-item[1], item[0]))
            shown = [(user.form(word) or self.casing.get(word, word), p) for word, p in top[:k] if p > 0]
        return [(display(form, {}, capitalize=capitalize), p) for form, p in shown]

    def model_top(self, model, state, probs, prefix: str, skip_as_typed: bool, k: int) -> tuple[list[int], float]:
        """(the model's k likeliest bar words that fit prefix, the mass of every word that fits): what the user's
        distribution is mixed with. Between words the mass is the whole distribution's, 1."""
        if prefix:
            fitting, offered = self.fitting(prefix, skip_as_typed)
            return top_ids(probs, offered, k).tolist(), float(probs[fitting].sum(dtype=np.float64))
        ranked, _ = model.top(state, min(k + len(self.hidden), model.vocab_size - 1))
        return [i for i in ranked if i not in self.hidden][:k], 1.0

    def fitting(self, prefix: str, skip_as_typed: bool) -> tuple[np.ndarray, np.ndarray]:
        """(the ids of every word the typed letters allow, the ones a completion may offer): all of them but the
        word spelled as typed, when skip_as_typed. That word sorts first among them, if it is there."""
        lo, hi = self.index.range(prefix)
        fitting = self.index.ids[lo:hi]
        if skip_as_typed and hi > lo and self.index.words[lo] == prefix:
            return fitting, fitting[1:]
        return fitting, fitting

    def shows_as_typed(self, word: str, partial: str, capitalize: bool, user_form: str | None = None) -> bool:
        """Whether the bar would show `word` exactly as `partial` is typed (in the user's form, if it has one)."""
        return display(user_form or self.casing.get(word, word), {}, capitalize=capitalize) == partial

    def id_of(self, word: str) -> int | None:
        """The model's id of a word it can show, or None."""
        return self.shown_ids.get(word)
