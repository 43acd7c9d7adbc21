"""Write what the Python runtime predicts with a sequence-kind model, for the JS parity test (sequence.test.js):
predict_next on >= 1,000 texts (each read from the start of its text), sessions fed word by word, and greedy
generation.

python make_sequence_expectations.py MODEL.onnx OUT.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from make_expectations import make_texts
from nextword.runtime import Predictor

N_SESSIONS = 60


def ids_of(predictor: Predictor, prediction) -> list[int]:
    return [predictor.tokenizer.word_index[word] for word, _ in prediction]


def row(predictor: Predictor, prediction) -> dict:
    return {"ids": ids_of(predictor, prediction), "probs": [p for _, p in prediction]}


def main() -> None:
    model, out = sys.argv[1], Path(sys.argv[2])
    predictor = Predictor.load(model)
    texts = make_texts(random.Random(4))
    top5 = predictor.predict_next_batch(texts, k=5)
    sessions = []
    for text in texts[len(texts) - N_SESSIONS :]:  # fed one word at a time; k=20 reaches past the graph's top 10
        session, steps = predictor.session(), []
        for word in text.split():
            session.feed(word)
            steps.append({"word": word, **row(predictor, session.predict(k=20))})
        sessions.append(steps)
    expected = {
        "texts": texts,
        "top5": [{**row(predictor, p), "unknown": list(p.unknown_words)} for p in top5],
        "sessions": sessions,
        "greedy": [predictor.generate(text, n_words=12) for text in texts[:100]],
        "vocab_size": predictor.vocab_size,
    }
    out.write_text(json.dumps(expected))
    print(f"{out}: {len(texts)} texts, {len(sessions)} sessions")


if __name__ == "__main__":
    main()
