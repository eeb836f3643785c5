from __future__ import annotations

from pathlib import Path

import pytest

from rnnlab.config import ModelConfig, load_config
from rnnlab.datasets.base import TaskSpec
from rnnlab.model import build_model
from rnnlab.summary import summarize, summary_for_config
from tests.conftest import CONFIGS


def test_lesson_numbers_simple_rnn_on_two_features() -> None:
    model = build_model(ModelConfig(units=3), TaskSpec(kind="regression", timesteps=3, features=2))
    layers = {layer.kind: layer for layer in summarize(model).layers}
    assert layers["SimpleRNN"].params == 18 and layers["SimpleRNN"].formula == "3 × (2 + 3 + 1)"
    assert layers["Dense"].params == 4
    assert summarize(model).total == 22


def test_embedding_alphabet_counts() -> None:
    result = summary_for_config(load_config(CONFIGS / "alphabet_embedding.yaml"))
    by_kind = {layer.kind: layer.params for layer in result.layers}
    assert by_kind == {"Embedding": 10, "SimpleRNN": 18, "Dense": 20}
    assert "embedding (Embedding): 5 × 2 = 10" in result.text()


@pytest.mark.parametrize("layer", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("encoding", "units", "num_layers"), [("onehot", 3, 1), ("embedding", 5, 2)])
def test_formulas_match_keras_count_params(layer: str, bidirectional: bool, encoding: str, units: int, num_layers: int) -> None:
    cfg = ModelConfig(layer=layer, units=units, num_layers=num_layers, encoding=encoding, bidirectional=bidirectional)
    model = build_model(cfg, TaskSpec(kind="classification", timesteps=4, vocab_size=7, num_classes=7))
    for row in summarize(model).layers:
        assert row.params == row.keras_params, row
