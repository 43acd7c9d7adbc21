"""Write what the Python runtime suggests for the texts the browser test types into the demo page, for each
file the page runs (model.onnx on onnxruntime-web, model.batch1.tflite on LiteRT.js): the page shows the
library's suggest(text, 5), between words and mid-word.

python make_browser_expectations.py EXPORT_DIR OUT.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from make_expectations import make_texts
from nextword.runtime import Predictor
from nextword.runtime.suggest import split_partial

N_TEXTS = 60  # typed with a space after: the next words
N_MID_WORD = 20  # typed as they are, ending inside a word: its completions
SUGGESTIONS = 5  # what the page shows (web/app.js)
FILES = ("model.onnx", "model.batch1.tflite", "model.int8.onnx", "model.int8.batch1.tflite")


def typeable(text: str) -> bool:
    """A textarea keeps such text as typed: no control characters (it rewrites \\r), no lone surrogates."""
    return all(ch in "\t\n" or (ord(ch) >= 32 and not 0xD800 <= ord(ch) <= 0xDFFF) for ch in text)


def main() -> None:
    export_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    candidates = [t for t in make_texts(random.Random(3)) if typeable(t) and len(t) < 200]
    tokenizer = Predictor.load(export_dir / FILES[0]).tokenizer
    mid_word = [t for t in candidates[N_TEXTS:] if split_partial(t, tokenizer)[1]][:N_MID_WORD]
    texts = [t + " " for t in candidates[:N_TEXTS]] + mid_word
    expected = {"texts": texts}
    for name in FILES:
        predictor = Predictor.load(export_dir / name)
        suggestions = [predictor.suggest(text, SUGGESTIONS) for text in texts]
        expected[name] = [{"words": [w for w, _ in s], "probs": [prob for _, prob in s]} for s in suggestions]
    out.write_text(json.dumps(expected))
    print(f"{out}: {len(texts)} texts ({N_MID_WORD} mid-word) x {len(FILES)} files")


if __name__ == "__main__":
    main()
