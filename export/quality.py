"""The quantized files' second gate, in what users feel: held-out perplexity and keystroke savings beside the
float32 file's of the same format.

Top-1 agreement with Keras (validate.py) says a quantized file mostly ranks the same word first; it does not say
whether the words a keyboard shows, or the probabilities an app mixes, moved. So every quantized file is also
scored by `nextword evaluate`'s own code (runtime/evaluate.py: the held-out tail, 3 suggestions shown) and must
stay within PERPLEXITY_TOLERANCE of the float32 file's perplexity and SAVINGS_POINTS of its keystroke savings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from nextword.runtime.evaluate import evaluate
from nextword.runtime.predictor import Predictor

PERPLEXITY_TOLERANCE = 0.02  # relative
SAVINGS_POINTS = 0.5  # percentage points of keystroke savings


@dataclass
class QualityRow:
    file: str
    reference: str  # the float32 file it is compared with
    perplexity: float
    savings: float  # fraction of keystrokes saved, 0..1
    perplexity_change: float = 0.0  # relative to the reference
    savings_change: float = 0.0  # points
    failures: list[str] = field(default_factory=list)


def compare_quality(files: dict[str, bytes], quantized: set[str], text: str, log=print) -> list[QualityRow]:
    """A row per float32 file that has quantized variants, then one per variant, scored on `text`'s tail."""
    rows = []
    for fmt in ("onnx", "tflite"):
        variants = sorted(name for name in quantized if name.endswith(f".{fmt}") and ".batch1." not in name)
        if not variants:
            continue
        reference = f"model.{fmt}"
        log(f"scoring {reference} and {', '.join(variants)} on the held-out text ...")
        base = _score(files[reference], reference, text)
        rows.append(QualityRow(reference, reference, *base))
        for name in variants:
            row = QualityRow(name, reference, *_score(files[name], name, text))
            row.perplexity_change = row.perplexity / base[0] - 1
            row.savings_change = 100 * (row.savings - base[1])
            if row.perplexity_change > PERPLEXITY_TOLERANCE:
                row.failures.append(
                    f"held-out perplexity {row.perplexity:.1f} is {row.perplexity_change:+.1%} of {reference}'s "
                    f"{base[0]:.1f} (limit +{PERPLEXITY_TOLERANCE:.0%})"
                )
            if row.savings_change < -SAVINGS_POINTS:
                row.failures.append(
                    f"keystroke savings {row.savings:.2%} are {row.savings_change:+.2f} points from {reference}'s "
                    f"{base[1]:.2%} (limit -{SAVINGS_POINTS} points)"
                )
            rows.append(row)
    return rows


def _score(data: bytes, name: str, text: str) -> tuple[float, float]:
    predictor = Predictor.from_bytes(data, source=name)
    report = evaluate(predictor, text, orders=(1,))  # the unigram baseline is the cheapest evaluate allows
    return report["model"]["perplexity"], report["model"]["keystroke_savings"]


def format_quality(rows: list[QualityRow]) -> str:
    header = f"{'file':<22} {'perplexity':>10} {'change':>8} {'savings':>8} {'change':>8}  result"
    lines = [header, "-" * len(header)]
    for r in rows:
        reference = r.file == r.reference
        ppl_change = "" if reference else f"{r.perplexity_change:+.2%}"
        savings_change = "" if reference else f"{r.savings_change:+.2f}"
        result = "reference" if reference else "ok" if not r.failures else "FAIL: " + "; ".join(r.failures)
        lines.append(
            f"{r.file:<22} {r.perplexity:>10.1f} {ppl_change:>8} {r.savings:>8.2%} {savings_change:>8}  {result}"
        )
    return "\n".join(lines)


def as_json(rows: list[QualityRow]) -> list[dict]:
    return [{**asdict(r), "passed": not r.failures} for r in rows]
