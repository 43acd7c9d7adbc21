"""What comes out of a graph is checked before it becomes a suggestion (issue 11): rows equal the batch,
widths the declared vocabulary, top-k ids in range and of rank 2, probabilities finite and non-negative, the
state finite and as wide as declared, and the load-time warm-up's distribution sums to 1. Each violation is a
one-line CorruptModelError. A wrapper edits a real engine's outputs, as a hostile graph would."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from nextword.runtime.errors import CorruptModelError, InputError
from nextword.runtime.predictor import Predictor


class Tampered:
    """A real backend whose outputs pass through edit(method, outputs) first."""

    def __init__(self, real, edit):
        self._real, self._edit = real, edit

    def __getattr__(self, name):
        return getattr(self._real, name)

    def run(self, ids):
        return self._edit("run", self._real.run(ids))

    def run_top(self, ids):
        return self._edit("run_top", self._real.run_top(ids))

    def step(self, ids, state, *, full=False):
        return self._edit("step", self._real.step(ids, state, full=full))


@pytest.fixture(scope="module")
def window(model_path) -> Predictor:
    return Predictor.load(model_path)


@pytest.fixture(scope="module")
def sequence(sequence_model_path) -> Predictor:
    return Predictor.load(sequence_model_path)


def tampered(predictor: Predictor, edit) -> Predictor:
    return Predictor(Tampered(predictor.backend, edit), predictor.bundle, "m")


def refused(call) -> str:
    with pytest.raises(CorruptModelError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message
    return message


def on_top(change):
    return lambda method, out: tuple(change(np.array(a)) for a in out) if method == "run_top" else out


def on_probs(change):
    return lambda method, out: change(np.array(out)) if method == "run" else out


def first_row_only(a):
    return a[:1]


@pytest.mark.parametrize(
    "edit, said",
    [
        (on_top(first_row_only), "for 3 rows"),  # one row for a batch of three
        (on_top(lambda a: a[:0]), "for 3 rows"),  # no rows at all
        (on_top(lambda a: a[:, 0]), "shapes"),  # rank 1
        (on_top(lambda a: a[:, :3]), "shapes"),  # narrower than the graph declared
    ],
)
def test_top_k_outputs_of_the_wrong_shape(window, edit, said):
    assert said in refused(lambda: tampered(window, edit).predict_next_batch(["a", "b", "c"], k=3))


def _ids(change):
    return lambda method, out: (out[0], change(np.array(out[1]))) if method == "run_top" else out


def _top_probs(change):
    return lambda method, out: (change(np.array(out[0])), out[1]) if method == "run_top" else out


def _set(column: int, value):
    def change(a):
        a[:, column] = value
        return a

    return change


@pytest.mark.parametrize(
    "edit, said",
    [
        (_ids(_set(0, 0)), "outside the vocabulary"),  # the padding id
        (_ids(_set(1, 10**6)), "outside the vocabulary"),
        (_ids(_set(0, -1)), "outside the vocabulary"),
        (_top_probs(_set(0, np.nan)), "not finite"),
        (_top_probs(_set(1, -0.25)), "not finite"),
        (_top_probs(_set(0, np.inf)), "not finite"),
        (_top_probs(_set(0, 3.0)), "not finite"),  # no probability is over 1
    ],
)
def test_top_k_values_that_cannot_be_suggestions(window, edit, said):
    assert said in refused(lambda: tampered(window, edit).predict_next("the value of", k=5))


@pytest.mark.parametrize(
    "change, said",
    [
        (first_row_only, "shape"),
        (lambda a: a[:, :-1], "shape"),
        (_set(7, np.nan), "not finite"),
        (_set(7, -1e-3), "not finite"),
    ],
)
def test_whole_distributions_are_checked_where_they_are_read(window, change, said):
    bad = tampered(window, on_probs(change))
    k = window.vocab_size - 1  # beyond the graph's top-k: ranked from the whole distribution
    assert said in refused(lambda: bad.predict_next_batch(["a", "b"], k=k))
    assert said in refused(lambda: bad.probabilities(np.zeros((2, window.context_len), np.int32)))
    if change is not first_row_only:
        assert said in refused(lambda: bad.generate("the value", 2))


def test_the_warm_up_checks_the_distribution_sums_to_1(window):
    half = tampered(window, on_probs(lambda a: a / 2))
    assert "sum to 0.5" in refused(half.warm_up)
    window.warm_up()  # the real file passes


def test_the_warm_up_runs_at_load(model_path, monkeypatch):
    calls = []
    monkeypatch.setattr(Predictor, "warm_up", lambda self: calls.append(self.source))
    Predictor.load(model_path)
    assert calls == [model_path.name]


def on_step(index, change):
    def edit(method, out):
        if method != "step":
            return out
        out = list(out)
        out[index] = change(np.array(out[index]))
        return tuple(out)

    return edit


@pytest.mark.parametrize(
    "edit, said",
    [
        (on_step(2, lambda a: a[:, :-1]), "state"),  # narrower than the declared state
        (on_step(2, _set(0, np.nan)), "not finite"),
        (on_step(2, _set(0, np.inf)), "not finite"),
        (on_step(1, first_row_only), "for 2 rows"),
        (on_step(0, _set(0, np.nan)), "not finite"),
        (on_step(1, _set(0, 0)), "outside the vocabulary"),
    ],
)
def test_sequence_steps_are_checked(sequence, edit, said):
    bad = tampered(sequence, edit)
    bad.model.start_step = sequence.model.start()  # the real start: the edit applies to the steps after it
    assert said in refused(lambda: bad.predict_next_batch(["the value", "of the"], k=3))


def test_sequence_session_and_generation_are_checked(sequence):
    bad = tampered(sequence, on_step(1, _set(0, 0)))
    bad.model.start_step = sequence.model.start()
    session = bad.session()
    session.feed("the value")
    assert "outside the vocabulary" in refused(lambda: session.predict(3))
    good_start = tampered(sequence, on_step(0, _set(0, np.nan)))
    good_start.model.start_step = sequence.model.start()
    assert "not finite" in refused(lambda: good_start.generate("the", 3))


def test_sequence_warm_up_checks_the_start_distribution(sequence):
    bad = tampered(sequence, on_step(3, lambda a: a * 0.9))
    assert "sum to" in refused(bad.warm_up)


# --- issue 22: sums and order on every call, not only the warm-up's -------------------------------------


def _reversed(a):
    return a[:, ::-1].copy()


@pytest.mark.parametrize("factor", [0.5, 1.99])
def test_every_whole_distribution_must_sum_to_1(window, factor):
    bad = tampered(window, on_probs(lambda a: a * factor))  # built without a warm-up: every call is a later one
    k = window.vocab_size - 1
    assert "sum to" in refused(lambda: bad.predict_next_batch(["a", "b"], k=k))
    assert "sum to" in refused(lambda: bad.probabilities(np.zeros((2, window.context_len), np.int32)))
    assert "sum to" in refused(lambda: bad.generate("the value", 2, strategy="sample", seed=1))


@pytest.mark.parametrize(
    "edit, said",
    [
        (lambda m, out: tuple(_reversed(np.array(a)) for a in out) if m == "run_top" else out, "highest first"),
        (_ids(lambda a: np.concatenate([a[:, :1], a[:, :-1]], axis=1)), "repeat a word"),
    ],
)
def test_a_top_k_out_of_order_or_repeating_a_word_is_refused(window, edit, said):
    assert said in refused(lambda: tampered(window, edit).predict_next("the value of", k=5))
    assert said in refused(lambda: tampered(window, edit).predict_next_batch(["a", "b"], k=3))


@pytest.mark.parametrize(
    "edit, said",
    [
        (on_step(3, lambda a: None if a.ndim == 0 else a * 0.5), "sum to"),  # ndim 0: not fetched (None)
        (on_step(3, lambda a: None if a.ndim == 0 else a * 1.99), "sum to"),
        (on_step(0, lambda a: a * 0.5), "disagrees with its own distribution"),
        (on_step(1, lambda a: a[:, [1, 0, *range(2, a.shape[1])]]), "disagrees with its own distribution"),
    ],
)
def test_sequence_distributions_are_checked_on_every_call(sequence, edit, said):
    bad = tampered(sequence, edit)
    bad.model.start_step = sequence.model.start()
    assert said in refused(lambda: bad.predict_next("the value of", k=20))  # past the graph's top-k: fetched
    session = bad.session()
    session.feed("the value")  # the top-k alone: nothing to compare it with
    assert said in refused(lambda: session.predict(20))


def test_sequence_top_k_order_is_checked_on_every_call(sequence):
    bad = tampered(sequence, lambda m, out: (_reversed(out[0]), _reversed(out[1]), *out[2:]) if m == "step" else out)
    bad.model.start_step = sequence.model.start()
    session = bad.session()
    session.feed("the value")
    assert "highest first" in refused(lambda: session.predict(3))
    assert "highest first" in refused(lambda: bad.generate("the", 3))


def test_json_output_never_holds_nan(window, capsys):
    from nextword.runtime.commands import print_prediction

    prediction = window.predict_next("the value of", k=5)
    print_prediction("x", prediction, True)
    assert "NaN" not in capsys.readouterr().out and all(np.isfinite(p) for _, p in prediction)
    json.dumps(list(prediction), allow_nan=False)


@pytest.mark.parametrize("threads", [0, -1, (os.cpu_count() or 1) + 1, 10**6, 2**40, True, 1.5, "2"])
def test_threads_are_bounded_to_the_machine(model_path, threads):
    with pytest.raises(InputError, match="threads must be at least 1 and at most") as info:
        Predictor.load(model_path, threads=threads)
    assert "\n" not in str(info.value)
