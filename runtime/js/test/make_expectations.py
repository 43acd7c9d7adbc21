"""Write what the Python runtime predicts for >= 1,000 texts, for the JS parity test to compare against, and
what it suggests for 1,000 texts (suggest_fixtures.py), also on other copies of the model (by name).

python make_expectations.py MODEL.onnx OUT.json [NAME=MODEL.onnx ...]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from nextword.runtime import Predictor

N_TEXTS = 1200
HOSTILE = [
    "",
    " ",
    "ΑΣ Σ",
    "İstanbul is",
    "STRASSE ẞ ß",
    "😀 the",
    "the\x00value",
    "zzyzx qqq",
    "the <unk>",
    "\ud800 of the",
    "café of",
    "THE VALUE OF",
    "a\tlist\nof",
    "the" * 50,
    "of " * 300,
    "return the",
    "(the) [value], of!",
]


def corpus_words() -> list[str]:
    from pydoc_data.topics import topics  # the corpus the demo model trains on: ships with CPython

    return " ".join(topics.values()).split()


def make_texts(rng: random.Random) -> list[str]:
    words = corpus_words()
    texts = list(HOSTILE)
    while len(texts) < N_TEXTS:
        start = rng.randrange(len(words))
        texts.append(" ".join(words[start : start + rng.randint(1, 6)]))
    return texts


def main() -> None:
    from suggest_fixtures import make_suggest_texts, suggest_rows  # it imports this module

    model, out = sys.argv[1], Path(sys.argv[2])
    copies = dict(arg.split("=", 1) for arg in sys.argv[3:])  # name -> model file
    predictor = Predictor.load(model)
    texts = make_texts(random.Random(3))
    top5 = predictor.predict_next_batch(texts, k=5)
    top20 = predictor.predict_next_batch(texts[:200], k=20)  # beyond the graph's top 10: ranked from probs
    expected = {
        "texts": texts,
        "top5": [
            {"ids": ids_of(predictor, p), "probs": [prob for _, prob in p], "unknown": list(p.unknown_words)}
            for p in top5
        ],
        "top20": [{"ids": ids_of(predictor, p), "probs": [prob for _, prob in p]} for p in top20],
        "greedy": [predictor.generate(text, n_words=12) for text in texts[:100]],
        "vocab_size": predictor.vocab_size,
    }
    suggest_texts = make_suggest_texts(random.Random(5))
    expected["suggest"] = {"texts": suggest_texts, "export": suggest_rows(predictor, suggest_texts)}
    for name, path in copies.items():
        expected["suggest"][name] = suggest_rows(Predictor.load(path), suggest_texts)
    out.write_text(json.dumps(expected))
    print(f"{out}: {len(texts)} texts, {len(suggest_texts)} suggest texts x {1 + len(copies)} models")


def ids_of(predictor: Predictor, prediction) -> list[int]:
    index = predictor.tokenizer.word_index
    return [index[word] for word, _ in prediction]


if __name__ == "__main__":
    main()
