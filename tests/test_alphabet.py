from __future__ import annotations

import numpy as np
import pytest

from rnnlab.data import alphabet
from rnnlab.errors import DataError


def test_window_one_is_the_cycle() -> None:
    inputs, targets = alphabet.samples(alphabet.Options(window=1))
    assert list(zip(inputs, targets)) == [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "a")]


def test_window_four_predicts_the_fifth() -> None:
    inputs, targets = alphabet.samples(alphabet.Options(window=4))
    assert inputs[0] == "abcd" and targets[0] == "e"
    assert inputs[1] == "bcde" and targets[1] == "a"


def test_ids_follow_sorted_vocabulary_not_typing_order() -> None:
    data = alphabet.Alphabet().load(alphabet.Options(letters="cab", window=1), seed=0, validation_split=0.0)
    assert data.state == {"vocab": ["a", "b", "c"]}
    # c -> a -> b -> c, in sorted ids: 2 -> 0 -> 1 -> 2
    assert data.train.x[:, 0].tolist() == [2, 0, 1] and data.train.y.tolist() == [0, 1, 2]
    assert data.train.x.dtype == np.int32 and data.train.x.shape == (3, 1)


def test_encode_rejects_unknown_letters_and_wrong_length() -> None:
    state = {"vocab": list("abcde")}
    with pytest.raises(DataError, match="'z' not in this run's letters"):
        alphabet.encode("z", state, 1)
    with pytest.raises(DataError, match="reads 4; give exactly 4"):
        alphabet.encode("ab", state, 4)
