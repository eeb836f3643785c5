"""The compiled single step walks the trained cells and agrees with the whole-sequence model."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec
from rnnlab.model.builder import build_model
from rnnlab.model.stepping import keras_step


@pytest.mark.parametrize(
    "model_cfg",
    [
        {"encoding": "onehot", "layer": "simple_rnn", "units": 6},
        {"encoding": "onehot", "layer": "lstm", "units": 6, "num_layers": 2},
        {"encoding": "embedding", "layer": "gru", "units": 6, "embedding_dim": 3},
    ],
)
def test_step_by_step_logits_equal_the_full_sequence(model_cfg: dict) -> None:
    spec = TaskSpec(kind="language_model", timesteps=9, vocab_size=11, num_classes=11)
    model = build_model(ModelConfig(**model_cfg), spec)
    ids = np.random.default_rng(1).integers(0, 11, (2, 9)).astype("int32")
    full = np.asarray(model(ids))
    step, state = keras_step(model), None
    for t in range(9):
        logits, state = step(ids[:, t], state)
        np.testing.assert_allclose(logits, full[:, t], atol=1e-5)
