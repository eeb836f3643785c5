from __future__ import annotations

import pytest

from rnnlab.commands.summary import summary_for_config
from rnnlab.config import ModelConfig, load_config
from rnnlab.data.contract import TaskSpec
from rnnlab.model.builder import build_model
from rnnlab.model.params import summarize
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


def test_imdb_lesson_numbers_appear_verbatim() -> None:
    cfg = ModelConfig(encoding="embedding", embedding_dim=32, layer="lstm", units=100)
    result = summarize(build_model(cfg, TaskSpec(kind="binary", timesteps=500, vocab_size=10000)))
    text = result.text()
    assert "embedding (Embedding): 10000 × 32 = 320,000" in text
    assert "lstm_1 (LSTM): 4 × 100 × (32 + 100 + 1) = 53,200" in text
    assert "output (Dense): 100 × 1 + 1 = 101" in text
    assert "total = 373,301" in text


@pytest.mark.parametrize("units", [1, 7, 32])
@pytest.mark.parametrize("kind", ["regression", "tagging", "binary"])
@pytest.mark.parametrize("layer", ["simple_rnn", "lstm", "gru"])
def test_formulas_match_count_params_across_sizes_and_heads(units: int, kind: str, layer: str) -> None:
    spec = TaskSpec(kind=kind, timesteps=3, features=units + 1, num_classes=4)
    model = build_model(ModelConfig(layer=layer, units=units, num_layers=2), spec)
    for row in summarize(model).layers:
        assert row.params == row.keras_params, row


def test_gru_without_reset_after_has_one_bias() -> None:
    from rnnlab.runtime import keras

    k = keras()
    model = k.Sequential([k.Input((3, 2)), k.layers.GRU(4, reset_after=False), k.layers.Dense(1)])
    gru = summarize(model).layers[0]
    assert gru.formula == "3 × 4 × (2 + 4 + 1)" and gru.params == gru.keras_params == 84


def test_the_parameter_budget_counts_what_keras_builds() -> None:
    """The count that refuses a too-large model before it is built is Keras's own count, for every layer shape."""
    import itertools

    from rnnlab.config import ModelConfig
    from rnnlab.data.contract import TaskSpec
    from rnnlab.model.builder import build_model, parameter_count

    specs = [
        TaskSpec(kind="classification", timesteps=4, vocab_size=7, num_classes=7),
        TaskSpec(kind="regression", timesteps=3, features=2),
        TaskSpec(kind="language_model", timesteps=5, vocab_size=9, num_classes=9),
    ]
    for spec, layer, encoding, bidirectional in itertools.product(
        specs, ["simple_rnn", "lstm", "gru"], ["onehot", "embedding"], [False, True]
    ):
        shape = {"units": 5, "embedding_dim": 3, "num_layers": 2, "bidirectional": bidirectional}
        cfg = ModelConfig.model_validate({"layer": layer, "encoding": encoding, **shape})
        assert parameter_count(cfg, spec) == build_model(cfg, spec).count_params(), (spec.kind, layer, encoding, bidirectional)


def test_pooling_and_output_dropout_add_layers_without_parameters() -> None:
    cfg = ModelConfig(encoding="embedding", embedding_dim=32, layer="lstm", units=100, pooling="max", output_dropout=0.5)
    spec = TaskSpec(kind="binary", timesteps=500, vocab_size=10000)
    result = summarize(build_model(cfg, spec))
    text = result.text()
    assert "max_pooling (GlobalMaxPooling1D): no parameters" in text
    assert "output_dropout (Dropout): no parameters" in text
    assert "total = 373,301" in text
    from rnnlab.model.builder import parameter_count

    assert parameter_count(cfg, spec) == result.total
