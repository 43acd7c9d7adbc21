"""Every export is checked against Keras before it is kept: names, then shapes, then values.

As in optimum's exporters, every failure is collected before failing; unlike there, a failure fails
the export (a mismatch users only see as a warning ships broken models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from nextword.runtime import contract
from nextword.runtime.errors import ValidationError

# Float32 exports compute the same graph in the same precision; what remains is summation order
# inside the engines' kernels, which stays far below 1e-5 on probabilities in [0, 1].
FLOAT_ATOL = 1e-5
# Keras probabilities closer than this are a tie: any order between them is correct.
TIE_TOLERANCE = 1e-6
# Quantized weights change the numbers by design; what users need is the same predictions.
MIN_QUANTIZED_TOP1 = 0.99
KL_EPSILON = 1e-12


@dataclass
class Report:
    """One row per (file, input set); stored in manifest.json and printed as a table."""

    file: str
    inputs: str
    windows: int
    max_abs_diff: float = float("nan")
    top1_agreement: float = float("nan")
    top5_agreement: float = float("nan")
    mean_kl: float = float("nan")
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def edge_inputs(vocab_size: int, context_len: int, oov_id: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "all-padding": np.zeros((1, context_len), np.int32),
        "oov-id": np.full((1, context_len), oov_id, np.int32),
        "largest-id": np.full((1, context_len), vocab_size - 1, np.int32),
        "batch-1": rng.integers(0, vocab_size, (1, context_len), dtype=np.int32),
        "batch-256": rng.integers(0, vocab_size, (256, context_len), dtype=np.int32),
    }


def compare(file: str, inputs: str, ids: np.ndarray, expected: np.ndarray, backend, *, quantized: bool) -> Report:
    """Check one backend against Keras' probabilities `expected` on `ids`."""
    report = Report(file, inputs, len(ids))
    roles = backend.roles
    names = (
        backend.input_name,
        roles.probs.name,
        getattr(roles.top_probs, "name", None),
        getattr(roles.top_ids, "name", None),
    )
    if names != (contract.INPUT, *contract.OUTPUTS):
        report.failures.append(f"names are {names}, expected {(contract.INPUT, *contract.OUTPUTS)}")
    try:
        got = np.asarray(backend.run(ids))
    except Exception as exc:  # an engine error on a valid input is a validation failure, reported, not raised
        report.failures.append(f"run failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        return report
    if not score(report, got, expected, quantized=quantized):
        return report
    if roles.top_k:
        top_probs, top_ids = backend.run_top(ids)
        report.failures.extend(check_graph_top_k(got, top_probs, top_ids, exact=None if quantized else expected))
    return report


def score(report: Report, got: np.ndarray, expected: np.ndarray, *, quantized: bool) -> bool:
    """Fill the report's figures for probabilities `got` against Keras' `expected`; False if they cannot be compared."""
    if got.shape != expected.shape or got.dtype != np.float32:
        report.failures.append(f"output is {got.dtype}{list(got.shape)}, expected float32{list(expected.shape)}")
        return False
    report.max_abs_diff = float(np.max(np.abs(got - expected)))
    keras_top5 = top5(expected)
    got_top5 = top5(got)
    report.top1_agreement = float(np.mean(keras_top5[:, 0] == got_top5[:, 0]))
    report.top5_agreement = float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(keras_top5, got_top5)]))
    p, q = np.clip(expected.astype(np.float64), KL_EPSILON, 1.0), np.clip(got.astype(np.float64), KL_EPSILON, 1.0)
    # Renormalized: float32 softmaxes sum to 1 +- 1e-7, which alone can make a tiny KL come out negative.
    p, q = p / p.sum(axis=1, keepdims=True), q / q.sum(axis=1, keepdims=True)
    report.mean_kl = float(np.mean(np.sum(p * np.log(p / q), axis=1)))
    if quantized:
        if report.top1_agreement < MIN_QUANTIZED_TOP1:
            report.failures.append(f"top-1 agreement {report.top1_agreement:.2%} < {MIN_QUANTIZED_TOP1:.0%}")
    else:
        if not report.max_abs_diff <= FLOAT_ATOL:  # `not <=` also catches NaN
            report.failures.append(f"max abs diff {report.max_abs_diff:.2e} > {FLOAT_ATOL:.0e}")
        rows = order_mismatches(expected, keras_top5, got_top5)
        if rows:
            report.failures.append(
                f"top-5 order differs from Keras (beyond ties) in {len(rows)} rows, first row {rows[0]}"
            )
    return True


def check_graph_top_k(
    got: np.ndarray, top_probs: np.ndarray, top_ids: np.ndarray, *, exact: np.ndarray | None
) -> list[str]:
    """The graph's own top_probs/top_ids must rank ids 1.. as its probs do (and, for float files, as Keras does)."""
    k = top_ids.shape[1]
    reference = got if exact is None else exact
    want = np.argsort(-reference[:, 1:], axis=1, kind="stable")[:, :k] + 1  # padding is never ranked
    failures = []
    if np.any(top_ids < 1) or np.any(top_ids >= got.shape[1]):
        return [f"top_ids hold ids outside 1..{got.shape[1] - 1}"]
    rows = order_mismatches(reference, want, top_ids)
    if rows:
        failures.append(
            f"top_ids differ from the ranking of probs (beyond ties) in {len(rows)} rows, first row {rows[0]}"
        )
    diff = float(np.max(np.abs(top_probs - np.take_along_axis(got, top_ids, axis=1))))
    if not diff <= FLOAT_ATOL:
        failures.append(f"top_probs differ from probs at top_ids by {diff:.2e}")
    return failures


def top5(probs: np.ndarray) -> np.ndarray:
    k = min(5, probs.shape[1])
    part = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(probs, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def order_mismatches(expected: np.ndarray, keras_top: np.ndarray, got_top: np.ndarray) -> list[int]:
    """Rows where the export ranks differently, except where Keras' own probabilities tie."""
    rows = np.nonzero(np.any(keras_top != got_top, axis=1))[0]
    bad = []
    for row in rows:
        want = expected[row, keras_top[row]]
        have = expected[row, got_top[row]]  # Keras' probability of what the export ranked there
        if np.any(np.abs(want - have) > TIE_TOLERANCE):
            bad.append(int(row))
    return bad


def raise_on_failures(reports: list[Report], *, allow_accuracy_loss: bool, quantized_files: set[str]) -> None:
    failures = []
    for r in reports:
        for failure in r.failures:
            if allow_accuracy_loss and r.file in quantized_files and failure.startswith("top-1 agreement"):
                continue
            failures.append(f"{r.file} on {r.inputs}: {failure}")
    if failures:
        more = f" (and {len(failures) - 1} more; see the table above)" if len(failures) > 1 else ""
        raise ValidationError(failures[0] + more)


def format_table(reports: list[Report]) -> str:
    header = f"{'file':<22} {'inputs':<12} {'windows':>7} {'max|diff|':>10} {'top1':>7} {'top5':>7} {'KL':>9}  result"
    lines = [header, "-" * len(header)]
    for r in reports:
        result = "ok" if r.passed else "FAIL: " + "; ".join(r.failures)
        lines.append(
            f"{r.file:<22} {r.inputs:<12} {r.windows:>7} {r.max_abs_diff:>10.2e} "
            f"{r.top1_agreement:>7.2%} {r.top5_agreement:>7.2%} {r.mean_kl:>9.2e}  {result}"
        )
    return "\n".join(lines)


def as_json(reports: list[Report]) -> list[dict]:
    return [{**asdict(r), "passed": r.passed} for r in reports]
