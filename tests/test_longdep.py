"""`dataset: longdep`: the letter a sequence starts with, to be remembered through the noise after it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from rnnlab.config import load_config
from rnnlab.data import dataset, longdep
from rnnlab.data.contract import Prepared
from rnnlab.errors import DataError
from tests.conftest import CONFIGS


def loaded(**options: Any) -> tuple[longdep.Options, Prepared]:
    chosen = longdep.Options(**options)
    return chosen, longdep.Longdep().load(chosen, seed=0, validation_split=0.25)


def test_the_label_is_the_first_letter_and_the_noise_says_nothing_of_it() -> None:
    options, data = loaded(length=30, num_symbols=3, samples=600, seed=5)
    vocab = data.state["vocab"]
    assert vocab == ["a", "b", "c"] and data.spec.timesteps == 31 and data.spec.num_classes == 3
    assert data.validation is not None and len(data.validation) == 150 and len(data.train) == 450
    for split in (data.train, data.validation):
        np.testing.assert_array_equal(split.x[:, 0], split.y)
    noise = data.train.x[:, 1:]
    assert set(np.unique(noise)) == {0, 1, 2}
    agreement = np.mean(noise == data.train.y[:, None])
    assert abs(agreement - 1 / 3) < 0.02, "a noise letter matches the label no more often than chance"
    again = longdep.Longdep().load(options, seed=1, validation_split=0.0)
    np.testing.assert_array_equal(np.sort(again.train.y), np.sort(np.concatenate([data.train.y, data.validation.y])))


def test_digit_noise_never_shows_a_letter() -> None:
    _, data = loaded(length=12, num_symbols=4, noise="digits", samples=100)
    vocab = data.state["vocab"]
    assert vocab == [*"0123456789", "a", "b", "c", "d"] and data.spec.vocab_size == 14
    assert data.train.x[:, 1:].max() <= 9 and data.train.x[:, 0].min() >= 10
    assert [longdep.Longdep().label_name(int(y), data.state) for y in data.train.y[:3]] == [
        vocab[int(i)] for i in data.train.x[:3, 0]
    ]
    assert longdep.Longdep().decode(data.train.x[0], data.state)[1:].isdigit()


def test_predict_reads_one_sequence_per_input_and_refuses_the_wrong_length() -> None:
    options = longdep.Options(length=5, num_symbols=2)
    state = {"vocab": longdep.vocabulary(options), "symbols": "ab"}

    class Remembers:
        def __call__(self, x: np.ndarray) -> np.ndarray:
            return np.eye(2)[x[:, 0]] * 0.9 + 0.05

        def step(self, ids: np.ndarray, state: object) -> tuple[np.ndarray, object]:
            raise AssertionError

    answers = longdep.Longdep().predict(options, state, Remembers(), ["bababa", "abbbbb"], {})
    assert [a.record["output"] for a in answers] == ["b", "a"] and answers[0].line == "bababa -> b 0.95"
    assert answers[1].record["probabilities"] == {"a": 0.95, "b": 0.05}
    with pytest.raises(DataError, match=r"has 3 character\(s\) but this run reads 6 .* e.g. --prefix a\w{5}$"):
        longdep.Longdep().predict(options, state, Remembers(), ["abb"], {})
    with pytest.raises(DataError, match=r"'z' not in this run's symbols 'ab'"):
        longdep.Longdep().predict(options, state, Remembers(), ["abzbba"], {})


def test_its_baseline_is_chance() -> None:
    options, data = loaded(samples=400)
    found = dataset("longdep").baselines(options, data)
    assert found is not None and found.split == "validation"
    assert abs(found.scores["majority_class"] - 1 / 8) < 0.08


def test_the_shipped_pair_differs_only_in_the_layer_and_its_forget_gate() -> None:
    simple, lstm = (yaml.safe_load((CONFIGS / f"longdep_{name}.yaml").read_text()) for name in ("simplernn", "lstm"))
    assert simple["data"] == lstm["data"] and simple["training"] == lstm["training"]
    own = ("layer", "forget_bias")
    assert {k: v for k, v in simple["model"].items() if k not in own} == {k: v for k, v in lstm["model"].items() if k not in own}
    assert (simple["model"]["layer"], lstm["model"]["layer"], lstm["model"]["forget_bias"]) == ("simple_rnn", "lstm", 3.0)
    for name in ("simplernn", "lstm"):
        assert load_config(CONFIGS / f"longdep_{name}.yaml").data.dataset == "longdep"
