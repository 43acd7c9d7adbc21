"""A keyboard that learns its user: the words one user writes (as written, the model's vocabulary or not) and which
word follows which, kept in one file on the device and mixed into suggestions (JS twin: runtime/js/src/user-model.js).

    user = UserModel.load("me.nwuser") if exists else UserModel()
    user.learn("Meet me at Kensington")       # text the user committed
    predictor.suggest("meet me at Ke", user=user)
    user.save("me.nwuser")                    # atomic: a crash mid-save leaves the previous file

The mix (runtime/suggest.py applies it), with c(w) the times w was learned, N their sum, v the last finished word
and c(v) the times v was followed by a learned word:

    P_user(w | v) = (c(v, w) + ALPHA * c(w) / N) / (c(v) + ALPHA)        a bigram, backed off to the unigram
    weight        = WEIGHT * N / (N + HALF_WEIGHT_AT)                     grows with the evidence, up to WEIGHT
    next words:   P(w) = (1 - weight) * P_model(w) + weight * P_user(w | v)
    completions:  the same mix of the two distributions each restricted to the words the typed letters allow

The file (runtime/user_file.py has the format): written atomically, read as strictly as a model file (any damage is
a CorruptUserModelError). At most `max_entries` words + pairs are kept; past it, the rarest and, among equals,
the oldest go first.

One UserModel may be shared between threads: every method takes its lock.
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
import threading
from bisect import bisect_left, insort
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from nextword.runtime import user_file
from nextword.runtime.casing import SENTENCE_ENDS
from nextword.runtime.errors import InputError
from nextword.runtime.tokenizer import DEFAULT_FILTERS
from nextword.runtime.user_file import LONE_SURROGATE, MAX_COUNT, MAX_WORD_CHARS, CorruptUserModelError

ALPHA = 2.0  # how many bigram observations the unigram backoff is worth
WEIGHT = 0.5  # the user's share of the mix once the evidence is large
HALF_WEIGHT_AT = 10  # learned words at which the user's share is half of WEIGHT
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024  # 100k entries are ~1.6 MB (version 2), ~2 MB as version 1
UNIGRAM_CANDIDATES = 32  # the user's most learned words, always considered as next words
PREFIX_CACHE = 4096  # typed prefixes whose completion figures are kept (past it, the cache starts again)
WORD = re.compile(f"[^\\s{re.escape(DEFAULT_FILTERS)}]+")


def clip(word: str) -> str:
    """A word as the user model keeps it: cut to MAX_WORD_CHARS code points, lowercase included ("İ" lowers to two)."""
    word = word[:MAX_WORD_CHARS]
    while len(word.lower()) > MAX_WORD_CHARS:
        word = word[:-1]
    return word


class UserModel:
    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES):
        if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries < 1:
            raise InputError(f"max_entries must be a positive integer, got {max_entries!r}")
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self.clear()

    # --- learning --------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._words: dict[str, list] = {}  # word -> [form, count, tick]
            self._pairs: dict[str, dict[str, list]] = {}  # word -> next word -> [count, tick]
            self._followed: dict[str, int] = {}  # c(v): times v was followed by a learned word
            self._unread: _UnreadPairs | None = None  # a loaded file's contexts, moved into _pairs when first used
            self._pair_count = 0
            self._learned = 0  # N
            self._tick = 0
            self._last: str | None = None  # the last word learned, the context of the next (within a sentence)
            self._index = None  # the prefix index, built when first read and kept up to date as words are learned
            self._ranked: dict[str, _Successors] = {}  # a context's successors in order, built when first read

    def learn(self, text: str) -> None:
        """Count the words of text the user committed, and each word's successor within a sentence."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        if LONE_SURROGATE.search(text):
            # Such a word could never be saved (UTF-8 has no encoding for it): refusing it here keeps every
            # later save() working, so nothing the user taught is lost.
            raise InputError("text holds a lone surrogate code point (not valid Unicode text); nothing was learned")
        with self._lock:
            at = 0
            for match in WORD.finditer(text):
                gap = text[at : match.start()]
                sentence_start = self._last is None or any(char in gap for char in SENTENCE_ENDS + "\n")
                if sentence_start:
                    self._last = None
                form = clip(match.group())
                self._learn_word(form.lower(), form, sentence_start)
                at = match.end()
            if any(char in text[at:] for char in SENTENCE_ENDS):
                self._last = None
            self._evict()

    def _learn_word(self, word: str, form: str, sentence_start: bool) -> None:
        self._tick += 1
        entry = self._words.get(word)
        new = entry is None
        if new:
            # A sentence's first word is capitalized whatever it is: its form says nothing until seen elsewhere.
            entry = self._words[word] = [word if sentence_start else form, 0, 0]
        elif not sentence_start:
            entry[0] = form  # the latest way the user wrote it mid-sentence
        entry[1] = min(entry[1] + 1, MAX_COUNT)
        entry[2] = self._tick
        self._learned += 1
        if self._index is not None and new:
            self._index.add(word, entry[1])
        elif self._index is not None:
            self._index.bump(word)
        if self._last is not None:
            successors = self._successors(self._last)
            if successors is None:
                successors = self._pairs[self._last] = {}
            pair = successors.get(word)
            if pair is None:
                pair = successors[word] = [0, 0]
                self._pair_count += 1
            before = pair[0]
            pair[0] = min(pair[0] + 1, MAX_COUNT)
            pair[1] = self._tick
            self._followed[self._last] = self._followed.get(self._last, 0) + 1
            ranked = self._ranked.get(self._last)
            if ranked is not None and pair[0] != before:
                ranked.bump(word, before)
        self._last = word

    def forget(self, word: str) -> bool:
        """Forget a word (any casing) and every pair it is part of; whether it was known."""
        if not isinstance(word, str):
            raise TypeError(f"word must be str, not {type(word).__name__}")
        with self._lock:
            key = word.lower()
            if key not in self._words:
                return False
            self._drop_words({key})
            return True

    def _successors(self, prev: str) -> dict[str, list] | None:
        """prev's learned next words (word -> [count, tick]), read from the loaded file on first use."""
        successors = self._pairs.get(prev)
        if successors is None and self._unread is not None:
            successors = self._unread.take(prev)
            if successors is not None:
                self._pairs[prev] = successors
                self._followed[prev] = sum(pair[0] for pair in successors.values())
        return successors

    def _read_all(self) -> None:
        """Every context into _pairs, in the order an eager read gives (the file's, then those new since): what
        walks every pair (forget, evict, save) sees, and saves, the same as the JS runtime."""
        if self._unread is None:
            return
        pairs = {}
        for prev in self._unread.contexts:
            pairs[prev] = self._successors(prev)
        self._pairs = pairs | self._pairs
        self._unread = None

    def _drop_words(self, keys: set[str]) -> None:
        self._read_all()
        for key in keys:
            self._learned -= self._words.pop(key)[1]
            self._pair_count -= len(self._pairs.pop(key, {}))
            self._followed.pop(key, None)
        for prev, successors in self._pairs.items():
            for key in keys & successors.keys():
                self._followed[prev] -= successors.pop(key)[0]
                self._pair_count -= 1
        self._pairs = {prev: successors for prev, successors in self._pairs.items() if successors}
        self._followed = {prev: n for prev, n in self._followed.items() if prev in self._pairs}
        if self._last in keys:
            self._last = None
        self._index = None
        self._ranked = {}

    def _evict(self) -> None:
        """Past max_entries, drop the rarest and oldest entries down to 90 % of it (amortized: not every word)."""
        if len(self._words) + self._pair_count <= self.max_entries:
            return
        self._read_all()
        entries = [(entry[1], entry[2], 0, word, "") for word, entry in self._words.items()]
        entries += [
            (pair[0], pair[1], 1, prev, word) for prev, pairs in self._pairs.items() for word, pair in pairs.items()
        ]
        entries.sort()
        excess = len(entries) - int(self.max_entries * 0.9)
        words = {word for _, _, is_pair, word, _ in entries[:excess] if not is_pair}
        for _, _, is_pair, prev, word in entries[:excess]:
            if is_pair and prev not in words and word not in words:
                self._followed[prev] -= self._pairs[prev].pop(word)[0]
                self._pair_count -= 1
        self._drop_words(words)

    # --- what suggest reads ----------------------------------------------------------------------------
    def __len__(self) -> int:
        """Entries kept: words plus pairs."""
        return len(self._words) + self._pair_count

    @property
    def words(self) -> dict[str, int]:
        """word -> times learned."""
        with self._lock:
            return {word: entry[1] for word, entry in self._words.items()}

    def form(self, word: str) -> str | None:
        entry = self._words.get(word)
        return None if entry is None or entry[0] == word else entry[0]

    def weight(self) -> float:
        return WEIGHT * self._learned / (self._learned + HALF_WEIGHT_AT)

    def reading(self, previous: str | None) -> _Reading:
        """P_user(w | previous) and the words worth scoring, for one suggestion (runtime/suggest.py): `with
        user.reading(previous) as scorer:`; the lock is held until the block ends, so the scorer reads the live
        tables without copying them."""
        return _Reading(self, previous)

    def _scorer(self, previous: str | None) -> _Scorer:
        if self._index is None:
            self._index = _UserIndex(self._words)
        successors = self._successors(previous) if previous else None
        ranked = None
        if successors:
            ranked = self._ranked.get(previous)
            if ranked is None:
                ranked = self._ranked[previous] = _Successors(successors)
        followed = self._followed.get(previous, 0)
        return _Scorer(self._index, successors or {}, ranked, followed, self._learned, self.weight())

    # --- the file --------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to path atomically: a crash mid-save leaves the previous file whole."""
        with self._lock:
            self._read_all()
            words = list(self._words)
            position = {word: i for i, word in enumerate(words)}
            pairs = [(prev, word, *pair) for prev, nexts in self._pairs.items() for word, pair in nexts.items()]
            ints = {
                "counts": [entry[1] for entry in self._words.values()],
                "ticks": [entry[2] for entry in self._words.values()],
                "pair_words": [position[prev] for prev, *_ in pairs],
                "pair_next": [position[word] for _, word, *_ in pairs],
                "pair_counts": [count for *_, count, _ in pairs],
                "pair_ticks": [last for *_, last in pairs],
            }
            forms = [entry[0] if entry[0] != word else "" for word, entry in self._words.items()]
            data = user_file.encode(self._tick, words, forms, ints)
        path = Path(path)
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp.name, path)
        except OSError as exc:
            Path(tmp.name).unlink(missing_ok=True) if "tmp" in locals() else None
            raise InputError(f"cannot save the user model to {path}: {exc.strerror}") from None

    @classmethod
    def load(
        cls, path: str | os.PathLike, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> UserModel:
        path = Path(path)
        try:
            if not path.exists():
                raise FileNotFoundError
            if not path.is_file():
                raise InputError(f"user model {path} is not a file")
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        except FileNotFoundError:
            raise InputError(f"user model {path} does not exist") from None
        except OSError as exc:
            raise InputError(f"cannot read user model {path}: {exc.strerror}") from None
        if len(data) > max_bytes:
            raise CorruptUserModelError(f"user model {path} is over the {max_bytes}-byte limit")
        return cls.from_bytes(data, max_entries=max_entries, source=str(path))

    @classmethod
    def from_bytes(
        cls, data: bytes, *, max_entries: int = DEFAULT_MAX_ENTRIES, source: str = "user model"
    ) -> UserModel:
        user = cls(max_entries=max_entries)
        try:
            with _collector_paused():
                _read_into(user, data, max_entries)
        except CorruptUserModelError as exc:
            raise CorruptUserModelError(f"{source}: {exc}") from None
        return user


@contextmanager
def _collector_paused():
    """Reading builds ~2 small containers per entry, none in a cycle: with Python's cycle collector running, it
    walks every object again and again as they arrive (100k entries: 2-3x the time). Paused only if it ran."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def _read_into(user: UserModel, data: bytes, max_entries: int) -> None:
    tick, words, forms, ints = user_file.decode(data, max_entries)
    counts, ticks = ints["counts"].tolist(), ints["ticks"].tolist()
    written = [form or word for word, form in zip(words, forms)] if forms.count("") != len(forms) else words
    user._words = dict(zip(words, map(list, zip(written, counts, ticks))))
    user._learned = sum(counts)
    user._pair_count, user._tick = len(ints["pair_words"]), tick
    if user._pair_count:
        # The pairs stay in the file's columns until a context is read: building ~2 objects per pair up front
        # was most of a 100k-entry load (45 of 50 ms).
        user._unread = _UnreadPairs(words, ints)


class _UnreadPairs:
    """A loaded file's pairs grouped by context, each turned into a successor table when first asked for."""

    def __init__(self, words: list[str], ints: dict[str, np.ndarray]):
        prevs = ints["pair_words"]
        self.order = np.argsort(prevs, kind="stable")  # by context; within one, the file's order
        self.ends = np.cumsum(np.bincount(prevs, minlength=len(words)))  # context i's rows end here in order
        self.position = dict(zip(words, range(len(words))))
        self.taken: set[str] = set()
        self.words, self.ints = words, ints

    @property
    def contexts(self) -> list[str]:
        """Every context of the file, in the order of its first pair there."""
        prevs = self.ints["pair_words"]
        present, first = np.unique(prevs, return_index=True)
        return [self.words[i] for i in present[np.argsort(first)].tolist()]

    def take(self, prev: str) -> dict[str, list] | None:
        i = self.position.get(prev)
        if i is None or prev in self.taken:
            return None
        start, end = (int(self.ends[i - 1]) if i else 0), int(self.ends[i])
        if start == end:
            return None
        self.taken.add(prev)
        rows = self.order[start:end]
        nexts, counts, ticks = (self.ints[name][rows].tolist() for name in ("pair_next", "pair_counts", "pair_ticks"))
        words = self.words
        return {words[n]: [count, last] for n, count, last in zip(nexts, counts, ticks)}


class _Reading:
    """user.reading(previous): the lock, and a scorer while it is held (a class: a generator-based context manager
    cost a completion ~4 µs)."""

    __slots__ = ("user", "previous")

    def __init__(self, user: UserModel, previous: str | None):
        self.user, self.previous = user, previous

    def __enter__(self) -> _Scorer:
        self.user._lock.acquire()
        try:
            return self.user._scorer(self.previous)
        except BaseException:
            self.user._lock.release()
            raise

    def __exit__(self, *exc) -> None:
        self.user._lock.release()


class _UserIndex:
    """The learned words in sorted order with their counts: words by prefix in two binary searches."""

    def __init__(self, words: dict[str, list]):
        self.keys = sorted(words)
        self.counts = np.array([words[key][1] for key in self.keys], dtype=np.float64)
        self.count_of = dict(zip(self.keys, self.counts.tolist()))  # the same counts, one dict look-up away
        self.largest = max(self.count_of.values(), default=0.0)
        order = np.argsort(-self.counts, kind="stable")[:UNIGRAM_CANDIDATES]
        self.top = [self.keys[i] for i in order]
        self.top_by_count: list[tuple[str, float]] | None = None  # the same words by count, sorted when read
        # What completions read per typed prefix (the counts' sum over it; its most learned words per k), kept
        # until a word with that prefix is learned: the short prefixes recur word after word.
        self.by_prefix: dict[str, dict] = {}

    def most_learned_by_count(self) -> list[tuple[str, float]]:
        if self.top_by_count is None:
            self.top_by_count = sorted(((word, self.count_of[word]) for word in self.top), key=lambda wc: -wc[1])
        return self.top_by_count

    def count(self, word: str) -> float:
        return self.count_of.get(word, 0.0)

    def bump(self, word: str) -> None:
        """One more of a known word: its count, and its place among the most learned."""
        self.counts[bisect_left(self.keys, word)] += 1
        self.count_of[word] += 1
        self.count_rose(word)

    def add(self, word: str, count: int) -> None:
        """A word learned for the first time, put in its place: rebuilding the index instead sorted every learned
        word on the keystroke after each new one (50 ms at 34,000 words, in both runtimes)."""
        at = bisect_left(self.keys, word)
        self.keys.insert(at, word)
        self.counts = np.insert(self.counts, at, float(count))
        self.count_of[word] = float(count)
        self.count_rose(word)

    def count_rose(self, word: str) -> None:
        """word's count went up: what is kept by count and per prefix follows."""
        drop_prefixes(self.by_prefix, word)
        count = self.count_of[word]
        self.largest = max(self.largest, count)
        self.top_by_count = None
        if word in self.top:
            return
        if len(self.top) < UNIGRAM_CANDIDATES:
            self.top.append(word)
            return
        weakest = min(range(len(self.top)), key=lambda i: self.count(self.top[i]))
        if self.count(word) > self.count(self.top[weakest]):
            self.top[weakest] = word

    def range(self, prefix: str) -> tuple[int, int]:
        lo = bisect_left(self.keys, prefix)
        return lo, bisect_left(self.keys, prefix + "\U0010ffff", lo)

    def _prefix_entry(self, prefix: str) -> dict:
        entry = self.by_prefix.get(prefix)
        if entry is None:
            make_room(self.by_prefix)
            entry = self.by_prefix[prefix] = {}
        return entry

    def total(self, prefix: str) -> float:
        """The counts' sum over the words that start with prefix (an integer, exact in float64)."""
        entry = self._prefix_entry(prefix)
        total = entry.get("total")
        if total is None:
            lo, hi = self.range(prefix)
            total = entry["total"] = float(self.counts[lo:hi].sum())
        return total

    def candidates(self, prefix: str, k: int) -> list[str]:
        """The k most learned words that start with prefix, ties to the alphabetically first."""
        entry = self._prefix_entry(prefix)
        words = entry.get(k)
        if words is None:
            lo, hi = self.range(prefix)
            words = entry[k] = [self.keys[lo + i] for i in most_learned(self.counts[lo:hi], k)]
        return words


def drop_prefixes(cache: dict, word: str) -> None:
    """Forget what a per-prefix cache holds for every prefix of word (word's count just changed)."""
    for end in range(1, len(word) + 1):
        cache.pop(word[:end], None)


def make_room(cache: dict) -> None:
    """A per-prefix cache holds at most PREFIX_CACHE prefixes: past it, it starts again."""
    if len(cache) >= PREFIX_CACHE:
        cache.clear()


def most_learned(counts: np.ndarray, k: int) -> list[int]:
    """The positions of the k largest counts, ties to the earlier (alphabetical) position: the set a stable sort
    gives, in O(n). Exact, so both runtimes score the same candidates (argpartition picks among ties at will)."""
    if len(counts) <= k:
        return list(range(len(counts)))
    kth = np.partition(counts, len(counts) - k)[len(counts) - k]
    above = np.flatnonzero(counts > kth).tolist()
    return above + np.flatnonzero(counts == kth)[: k - len(above)].tolist()


class _Successors:
    """One context's learned next words in two orders, kept up to date as pairs are learned: by count, highest
    first (a next-word bar stops reading once no later word can rank), and by spelling (a prefix is one range)."""

    def __init__(self, successors: dict[str, list]):
        self.counts = successors  # word -> [count, tick], the live table
        self.by_count = sorted(successors, key=lambda word: -successors[word][0])
        self.at = {word: i for i, word in enumerate(self.by_count)}
        self.first: dict[int, int] = {}  # count -> where its run starts in by_count
        for i, word in enumerate(self.by_count):
            self.first.setdefault(successors[word][0], i)
        self.spelled = sorted(successors)
        # What a completion reads per typed prefix (the fitting successors' count sum, and the same words highest
        # count first), kept until one of them is learned again: the context recurs, and so do short prefixes.
        self.by_prefix: dict[str, tuple[int, list[tuple[str, int]]]] = {}

    def bump(self, word: str, before: int) -> None:
        """word's count went from `before` to before + 1: move it to the front of its old run (O(1))."""
        drop_prefixes(self.by_prefix, word)
        if before == 0:
            self.at[word] = len(self.by_count)
            self.by_count.append(word)
            self.first.setdefault(1, self.at[word])
            insort(self.spelled, word)
            return
        i, j = self.at[word], self.first[before]
        other = self.by_count[j]
        self.by_count[i], self.by_count[j] = other, word
        self.at[other], self.at[word] = i, j
        if j + 1 < len(self.by_count) and self.counts[self.by_count[j + 1]][0] == before:
            self.first[before] = j + 1
        else:
            del self.first[before]
        self.first.setdefault(before + 1, j)

    def fitting(self, prefix: str):
        """(word, count) of the successors that start with prefix, in spelling order."""
        at = bisect_left(self.spelled, prefix)
        while at < len(self.spelled) and self.spelled[at].startswith(prefix):
            word = self.spelled[at]
            yield word, self.counts[word][0]
            at += 1

    def fitting_by_count(self, prefix: str) -> tuple[int, list[tuple[str, int]]]:
        """(their counts' sum, (word, count) highest count first) of the successors that start with prefix."""
        entry = self.by_prefix.get(prefix)
        if entry is None:
            make_room(self.by_prefix)
            fits = sorted(self.fitting(prefix), key=lambda word_count: -word_count[1])
            entry = self.by_prefix[prefix] = (sum(count for _, count in fits), fits)
        return entry


class _Scorer:
    """P_user(w | v) for one context, and the words worth scoring."""

    def __init__(self, index: _UserIndex, successors: dict, ranked, followed: int, learned: int, weight: float):
        self.index, self.successors, self.ranked, self.followed, self.learned, self.weight = (
            index,
            successors,  # word -> [count, tick]
            ranked,  # the same words in order (_Successors), None when the context has none
            followed,
            learned,
            weight,
        )

    def prob(self, word: str) -> float:
        if not self.learned:
            return 0.0
        pair = self.successors.get(word)
        return ((pair[0] if pair else 0) + ALPHA * self.index.count(word) / self.learned) / (self.followed + ALPHA)

    def unigrams_by_count(self) -> list[tuple[str, float]]:
        """(word, count) of the UNIGRAM_CANDIDATES most learned words, highest count first: next-word candidates."""
        return self.index.most_learned_by_count()

    def unigram_candidates(self, prefix: str, k: int) -> list[str]:
        """The k most learned words that fit prefix, ties to the alphabetically first: completion candidates."""
        return self.index.candidates(prefix, k)

    def fitting_successors(self, prefix: str):
        return self.ranked.fitting(prefix) if self.ranked is not None else iter(())

    def fitting_by_count(self, prefix: str) -> tuple[int, list[tuple[str, int]]]:
        """(their counts' sum, (word, count) highest count first) of the successors that fit prefix."""
        return self.ranked.fitting_by_count(prefix) if self.ranked is not None else (0, [])

    def mass(self, prefix: str, pairs: int | None = None) -> float:
        """P_user of every learned word that fits prefix (`pairs`: the fitting successors' counts summed, when
        the caller has read them already)."""
        if not self.learned:
            return 0.0
        if pairs is None:
            pairs = sum(count for _, count in self.fitting_successors(prefix))
        return (pairs + ALPHA * self.index.total(prefix) / self.learned) / (self.followed + ALPHA)
