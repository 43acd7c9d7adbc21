import numpy as np
import pytest
from nextword.runtime.errors import InputError
from nextword.runtime.windows import make_windows, split_train_holdout


def test_windows_match_the_lessons_python_loop():
    ids = np.array([5, 3, 9, 1, 4, 4, 2], dtype=np.int32)
    contexts, targets = make_windows(ids, 3)
    expected = [ids[i : i + 3] for i in range(len(ids) - 2)]  # the lesson's list-of-windows, written plainly
    assert contexts.shape == (5, 2) and targets.shape == (5,)
    assert contexts.dtype == np.int32 and targets.dtype == np.int32
    np.testing.assert_array_equal(contexts, [w[:2] for w in expected])
    np.testing.assert_array_equal(targets, [w[2] for w in expected])


@pytest.mark.parametrize("seq_len", [2, 4, 7])
def test_window_count_and_last_window(seq_len):
    ids = np.arange(1, 101, dtype=np.int32)
    contexts, targets = make_windows(ids, seq_len)
    assert len(contexts) == 100 - seq_len + 1
    np.testing.assert_array_equal(contexts[-1], ids[-seq_len:-1])
    assert targets[-1] == 100


def test_windows_are_independent_copies():
    ids = np.arange(10, dtype=np.int32)
    contexts, _ = make_windows(ids, 3)
    contexts[0, 0] = 99
    assert ids[0] == 0 and contexts[1, 0] == 1


def test_too_short_and_bad_seq_len_are_refused():
    with pytest.raises(InputError, match="fewer than seq_len=3"):
        make_windows(np.array([1, 2], dtype=np.int32), 3)
    with pytest.raises(InputError, match="at least 2"):
        make_windows(np.arange(10), 1)


def test_holdout_is_the_tail():
    assert split_train_holdout(1000, 0.1) == 900
    assert split_train_holdout(1000, 0.0) == 1000
    assert split_train_holdout(9, 0.1) == 9  # too few windows to hold any out
