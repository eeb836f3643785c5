"""The model the builder makes from a config: what it starts from."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import ConfigError
from rnnlab.model.builder import build_model, lstm_cells, set_output_prior


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


@pytest.mark.parametrize(
    ("kind", "targets", "width", "expected"),
    [
        ("classification", np.array([0, 0, 0, 2]), 3, np.array([4, 1, 2]) / 7),
        ("language_model", np.array([[1, 1], [1, 0]]), 3, np.array([2, 4, 1]) / 7),
        ("binary", np.array([1.0, 1.0, 1.0, 0.0]), 1, np.array([4 / 6])),
        ("regression", np.array([[1.0, 10.0], [3.0, 20.0]]), 2, np.array([2.0, 15.0])),
    ],
)
def test_prior_bias_makes_an_empty_head_predict_the_base_rates(
    kind: str, targets: np.ndarray, width: int, expected: np.ndarray
) -> None:
    """With the output kernel zeroed, the head answers only from its bias: add-one class frequencies,
    the positive rate, the training mean."""
    spec = TaskSpec(kind=kind, timesteps=3, vocab_size=4, num_classes=width)  # type: ignore[arg-type]
    model = build_model(ModelConfig(layer="gru", encoding="embedding", units=2), spec)
    set_output_prior(model, targets, kind)
    head = model.layers[-1]
    head.set_weights([np.zeros_like(head.get_weights()[0]), head.get_weights()[1]])
    out = np.asarray(model(np.zeros((1, 3), dtype="int32")))[0]
    if kind == "language_model":
        out = np.exp(out[-1]) / np.exp(out[-1]).sum()
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_pooling_is_refused_for_a_per_step_task() -> None:
    spec = TaskSpec(kind="language_model", timesteps=5, vocab_size=4, num_classes=4)
    with pytest.raises(ConfigError, match="model.pooling: max pools a whole sequence .* a language model predicts at every step"):
        build_model(ModelConfig(layer="lstm", pooling="max"), spec)


def test_embedding_dropout_drops_whole_tokens_in_training_only() -> None:
    spec = TaskSpec(kind="binary", timesteps=50, vocab_size=9)
    model = build_model(ModelConfig(layer="gru", encoding="embedding", embedding_dim=6, embedding_dropout=0.5), spec)
    dropout = model.get_layer("embedding_dropout")
    vectors = np.ones((8, 50, 6), dtype="float32")
    dropped = np.asarray(dropout(vectors, training=True))
    per_token = dropped.max(axis=-1)
    assert set(np.unique(dropped)) == {0.0, 2.0}
    np.testing.assert_array_equal(dropped, np.broadcast_to(per_token[..., None], dropped.shape))
    assert 0.3 < (per_token == 0).mean() < 0.7
    np.testing.assert_array_equal(np.asarray(dropout(vectors, training=False)), vectors)
