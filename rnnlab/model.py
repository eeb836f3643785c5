"""ModelConfig + TaskSpec → an uncompiled Keras Sequential, and the loss that fits its head."""

from __future__ import annotations

from typing import Any

from rnnlab.config import ModelConfig
from rnnlab.datasets.base import TaskSpec
from rnnlab.runtime import keras

RECURRENT_CLASSES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
PER_STEP_KINDS = ("tagging", "language_model")


def input_layer(cfg: ModelConfig, spec: TaskSpec) -> Any:
    k = keras()
    if not spec.token_input:
        return k.Input(shape=(spec.timesteps, spec.features), name="features")
    if cfg.encoding == "onehot":
        return k.Input(shape=(spec.timesteps, spec.vocab_size), name="onehot")
    return k.Input(shape=(spec.timesteps,), dtype="int32", name="token_ids")


def recurrent_layers(cfg: ModelConfig, spec: TaskSpec) -> list[Any]:
    """Stacked layers: every one but the last returns sequences, the last too for per-step tasks."""
    k = keras()
    cls = getattr(k.layers, RECURRENT_CLASSES[cfg.layer])
    layers = []
    for i in range(cfg.num_layers):
        last = i == cfg.num_layers - 1
        layer = cls(
            cfg.units,
            activation=cfg.activation,
            dropout=cfg.dropout,
            return_sequences=not last or spec.kind in PER_STEP_KINDS,
            name=f"{cfg.layer}_{i + 1}",
        )
        if cfg.bidirectional:
            layer = k.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        layers.append(layer)
    return layers


def output_layer(spec: TaskSpec) -> Any:
    k = keras()
    if spec.kind == "binary":
        return k.layers.Dense(1, activation="sigmoid", name="output")
    if spec.kind == "regression":
        return k.layers.Dense(1, name="output")
    if spec.kind == "language_model":
        return k.layers.Dense(spec.num_classes, name="logits")
    return k.layers.Dense(spec.num_classes, activation="softmax", name="output")


def build_model(cfg: ModelConfig, spec: TaskSpec) -> Any:
    k = keras()
    layers: list[Any] = [input_layer(cfg, spec)]
    if spec.token_input and cfg.encoding == "embedding":
        layers.append(k.layers.Embedding(spec.vocab_size, cfg.embedding_dim, mask_zero=spec.mask_padding, name="embedding"))
    layers += recurrent_layers(cfg, spec)
    layers.append(output_layer(spec))
    return k.Sequential(layers, name=f"{cfg.layer}_{spec.kind}")


def loss_and_metrics(spec: TaskSpec) -> tuple[Any, list[Any]]:
    k = keras()
    if spec.kind == "binary":
        return k.losses.BinaryCrossentropy(), ["accuracy"]
    if spec.kind == "regression":
        return k.losses.MeanSquaredError(), ["mae"]
    if spec.kind == "language_model":
        return k.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]
    return k.losses.SparseCategoricalCrossentropy(), ["accuracy"]
