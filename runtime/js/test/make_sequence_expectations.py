"""Write what the Python runtime predicts with a sequence-kind model, for the JS parity test (sequence.test.js):
predict_next on >= 1,000 texts (each read from the start of its text), sessions fed word by word, and greedy
generation; suggest on 1,000 texts and typing sessions (suggest_fixtures.py), also on other copies of the model
(by name).

python make_sequence_expectations.py MODEL.onnx OUT.json [NAME=MODEL.onnx ...]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from make_expectations import make_texts
from nextword.runtime import Predictor
from suggest_fixtures import make_suggest_texts, session_runs, suggest_rows

N_SESSIONS = 60


def ids_of(predictor: Predictor, prediction) -> list[int]:
    return [predictor.tokenizer.word_index[word] for word, _ in prediction]


def row(predictor: Predictor, prediction) -> dict:
    return {"ids": ids_of(predictor, prediction), "probs": [p for _, p in prediction]}


def main() -> None:
    model, out = sys.argv[1], Path(sys.argv[2])
    copies = dict(arg.split("=", 1) for arg in sys.argv[3:])  # name -> model file
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
    suggest_texts = make_suggest_texts(random.Random(6))
    expected["suggest"] = {"texts": suggest_texts}
    for name, path in {"export": model, **copies}.items():
        suggester = Predictor.load(path)
        expected["suggest"][name] = suggest_rows(suggester, suggest_texts)
        expected["suggest"][f"{name}_sessions"] = session_runs(suggester, random.Random(7))
    out.write_text(json.dumps(expected))
    runs = expected["suggest"]["export_sessions"]
    typed = sum(op["op"] == "suggest" for run in runs for op in run)
    print(f"{out}: {len(texts)} texts, {len(sessions)} sessions; {len(suggest_texts)} suggest texts and ", end="")
    print(f"{len(runs)} typing sessions ({typed} suggest calls) x {1 + len(copies)} models")


if __name__ == "__main__":
    main()
