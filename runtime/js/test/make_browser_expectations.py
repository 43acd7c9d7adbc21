"""Write what the Python runtime predicts for the texts the browser test types into the demo page, for each
file the page runs (model.onnx on onnxruntime-web, model.batch1.tflite on LiteRT.js). The page offers the top
5 words without the OOV token, so the top 6 are written and the OOV token is named.

python make_browser_expectations.py EXPORT_DIR OUT.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from make_expectations import make_texts
from nextword.runtime import Predictor

N_TEXTS = 60
FILES = ("model.onnx", "model.batch1.tflite")


def typeable(text: str) -> bool:
    """A textarea keeps such text as typed: no control characters (it rewrites \\r), no lone surrogates."""
    return all(ch in "\t\n" or (ord(ch) >= 32 and not 0xD800 <= ord(ch) <= 0xDFFF) for ch in text)


def main() -> None:
    export_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    # A space after each text: the page then suggests the next word (mid-word it completes the word instead).
    texts = [t + " " for t in make_texts(random.Random(3)) if typeable(t) and len(t) < 200][:N_TEXTS]
    expected = {"texts": texts}
    for name in FILES:
        predictor = Predictor.load(export_dir / name)
        expected["oov"] = predictor.tokenizer.oov_token
        predictions = predictor.predict_next_batch(texts, k=6)
        expected[name] = [{"words": [w for w, _ in p], "probs": [prob for _, prob in p]} for p in predictions]
    out.write_text(json.dumps(expected))
    print(f"{out}: {len(texts)} texts x {len(FILES)} files")


if __name__ == "__main__":
    main()
