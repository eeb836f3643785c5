"""The model the builder makes from a config: what it starts from."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec
from rnnlab.model.builder import build_model, lstm_cells


@pytest.mark.parametrize("bidirectional", [False, True])
def test_forget_bias_starts_only_the_forget_gate_there(bidirectional: bool) -> None:
    """Keras's gate order is i, f, c, o; Keras starts f at 1 (unit_forget_bias) and the rest at 0."""
    spec = TaskSpec(kind="classification", timesteps=7, vocab_size=4, num_classes=4)
    chosen = ModelConfig(layer="lstm", units=3, num_layers=2, bidirectional=bidirectional, forget_bias=5.0)
    cells = lstm_cells(build_model(chosen, spec))
    assert len(cells) == (4 if bidirectional else 2)
    for cell in cells:
        np.testing.assert_array_equal(cell.bias.numpy(), [0, 0, 0, 5, 5, 5, 0, 0, 0, 0, 0, 0])
    default = lstm_cells(build_model(chosen.model_copy(update={"forget_bias": 1.0}), spec))
    np.testing.assert_array_equal(default[0].bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
