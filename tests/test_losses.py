"""The smoothed cross-entropy against its formula, and where it is refused."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import ConfigError
from rnnlab.model.builder import build_model, loss_and_metrics
from rnnlab.model.losses import PriorSmoothedCrossentropy
from rnnlab.runtime import keras


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("smoothing", [0.0, 0.2, 0.7])
def test_smoothed_loss_is_the_mixture_of_the_two_cross_entropies(smoothing: float) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(3, 4, 5)).astype("float32")
    ids = rng.integers(0, 5, size=(3, 4))
    prior = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    loss = PriorSmoothedCrossentropy(prior.tolist(), smoothing, from_logits=True)
    got = float(loss(ids, logits))
    log_p = log_softmax(logits.astype(np.float64))
    target = -np.take_along_axis(log_p, ids[..., None], -1)[..., 0]
    expected = np.mean((1 - smoothing) * target - smoothing * (log_p * prior).sum(-1))
    assert got == pytest.approx(expected, rel=1e-5)
    if smoothing == 0:
        plain = keras().losses.SparseCategoricalCrossentropy(from_logits=True)
        assert got == pytest.approx(float(plain(ids, logits)), rel=1e-5)


def test_probabilities_and_column_targets_work_as_for_a_softmax_classifier() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype="float32")
    loss = PriorSmoothedCrossentropy([0.6, 0.3, 0.1], 0.5)
    expected = np.mean(0.5 * -np.log([0.7, 0.8]) + 0.5 * -(np.log(probabilities) * [0.6, 0.3, 0.1]).sum(-1))
    assert float(loss(np.array([[0], [2]]), probabilities)) == pytest.approx(expected, rel=1e-5)
    restored = PriorSmoothedCrossentropy.from_config(loss.get_config())
    assert restored.prior == loss.prior and restored.smoothing == 0.5


def test_a_sigmoid_or_regression_head_refuses_label_smoothing() -> None:
    for kind in ("binary", "regression"):
        spec = TaskSpec(kind=kind, timesteps=3, features=2)  # type: ignore[arg-type]
        build_model(ModelConfig(units=2), spec)
        with pytest.raises(ConfigError, match=f"a {kind} model has none; remove training.label_smoothing"):
            loss_and_metrics(spec, 0.1, np.zeros(4))
