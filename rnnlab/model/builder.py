"""ModelConfig + TaskSpec → an uncompiled Keras Sequential, the loss that fits its head, and its inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec, one_hot
from rnnlab.errors import ConfigError
from rnnlab.model.word_vectors import ppmi_vectors
from rnnlab.runtime import keras

RECURRENT_CLASSES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
PER_STEP_KINDS = ("tagging", "language_model")
UNROLL_MAX_STEPS = 64


def onehot_inside(encoding: str, spec: TaskSpec) -> bool:
    """Language models read token ids even when one-hot: the model encodes them itself, which saves
    memory and lets a SimpleRNN gather kernel rows instead of multiplying by one-hot vectors."""
    return spec.kind == "language_model" and spec.token_input and encoding == "onehot"


def model_inputs(x: np.ndarray, spec: TaskSpec, encoding: str) -> np.ndarray:
    """Token ids become one-hot vectors when the model reads one-hot input."""
    if spec.token_input and encoding == "onehot" and not onehot_inside(encoding, spec):
        assert spec.vocab_size is not None
        return one_hot(x, spec.vocab_size)
    return x


def gathers_onehot(cfg: ModelConfig, spec: TaskSpec) -> bool:
    plain = cfg.dropout == cfg.recurrent_dropout == 0 and not cfg.bidirectional
    return onehot_inside(cfg.encoding, spec) and cfg.layer == "simple_rnn" and plain


def input_layer(cfg: ModelConfig, spec: TaskSpec, batch_size: int | None = None) -> Any:
    k = keras()
    if not spec.token_input:
        return k.Input(shape=(spec.timesteps, spec.features), batch_size=batch_size, name="features")
    if cfg.encoding == "onehot" and not onehot_inside(cfg.encoding, spec):
        return k.Input(shape=(spec.timesteps, spec.vocab_size), batch_size=batch_size, name="onehot")
    return k.Input(shape=(spec.timesteps,), batch_size=batch_size, dtype="int32", name="token_ids")


def recurrent_layers(cfg: ModelConfig, spec: TaskSpec, stateful: bool = False) -> list[Any]:
    """Stacked layers: every one but the last returns sequences, the last too for per-step tasks."""
    k = keras()
    layers = []
    for i in range(cfg.num_layers):
        last = i == cfg.num_layers - 1
        options: dict[str, Any] = {}
        if i == 0 and gathers_onehot(cfg, spec):
            from rnnlab.model.layers import OneHotSimpleRNN

            cls, options = OneHotSimpleRNN, {"vocab_size": spec.vocab_size}
        else:
            cls = getattr(k.layers, RECURRENT_CLASSES[cfg.layer])
        layer = cls(
            cfg.units,
            **options,
            activation=cfg.activation,
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            return_sequences=not last or spec.kind in PER_STEP_KINDS or cfg.pooling != "last",
            stateful=stateful,
            unroll=spec.timesteps is not None and spec.timesteps <= UNROLL_MAX_STEPS,
            name=f"{cfg.layer}_{i + 1}",
        )
        if cfg.bidirectional:
            layer = k.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        layers.append(layer)
    return layers


POOLING_CLASSES = {"max": "GlobalMaxPooling1D", "mean": "GlobalAveragePooling1D"}


def head_inputs(cfg: ModelConfig, spec: TaskSpec) -> list[Any]:
    """What sits between the last recurrent layer and the output: the pooling over time, then dropout."""
    k = keras()
    layers = []
    if cfg.pooling != "last":
        if spec.kind in PER_STEP_KINDS:
            raise ConfigError(
                f"model.pooling: {cfg.pooling} pools a whole sequence into one vector, but a {spec.kind.replace('_', ' ')} "
                "predicts at every step; remove model.pooling (or set it to last)"
            )
        layers.append(getattr(k.layers, POOLING_CLASSES[cfg.pooling])(name=f"{cfg.pooling}_pooling"))
    if cfg.output_dropout:
        layers.append(k.layers.Dropout(cfg.output_dropout, name="output_dropout"))
    return layers


def output_layer(spec: TaskSpec) -> Any:
    k = keras()
    if spec.kind == "binary":
        return k.layers.Dense(1, activation="sigmoid", name="output")
    if spec.kind == "regression":
        return k.layers.Dense(spec.num_classes or 1, name="output")  # num_classes: values predicted at once
    if spec.kind == "language_model":
        return k.layers.Dense(spec.num_classes, name="logits")
    return k.layers.Dense(spec.num_classes, activation="softmax", name="output")


def build_model(cfg: ModelConfig, spec: TaskSpec, batch_size: int | None = None) -> Any:
    """``batch_size`` fixes the batch and makes the recurrent layers stateful (state carried across batches)."""
    check_budget(cfg, spec)
    k = keras()
    layers: list[Any] = [input_layer(cfg, spec, batch_size)]
    if spec.token_input and cfg.encoding == "embedding":
        layers.append(k.layers.Embedding(spec.vocab_size, cfg.embedding_dim, mask_zero=spec.mask_padding, name="embedding"))
        if cfg.embedding_dropout:
            layers.append(k.layers.Dropout(cfg.embedding_dropout, noise_shape=(None, None, 1), name="embedding_dropout"))
    elif onehot_inside(cfg.encoding, spec) and not gathers_onehot(cfg, spec):
        layers.append(k.layers.CategoryEncoding(spec.vocab_size, output_mode="one_hot", name="onehot"))
    layers += recurrent_layers(cfg, spec, stateful=batch_size is not None)
    layers += head_inputs(cfg, spec)
    layers.append(output_layer(spec))
    model = k.Sequential(layers, name=f"{cfg.layer}_{spec.kind}")
    if cfg.forget_bias != 1.0:  # the config allows it for LSTMs only
        set_forget_bias(model, cfg.forget_bias)
    return model


def prior_bias(targets: np.ndarray, kind: str, width: int) -> np.ndarray:
    """The output bias that makes an untrained model predict the training targets' base rates:
    add-one log frequencies before a softmax, the log-odds of the positive class before a sigmoid,
    the mean before a linear regression head. A character model then starts at the unigram's
    perplexity instead of the vocabulary size's, and a rare class's logit starts low rather than
    being pushed down one step at a time."""
    values = np.asarray(targets, dtype=np.float64)
    if kind == "regression":
        return np.broadcast_to(values.reshape(len(values), -1).mean(axis=0), (width,)).copy()
    if kind == "binary":
        positive = (np.rint(values).sum() + 1) / (values.size + 2)
        return np.array([np.log(positive / (1 - positive))])
    counts = np.bincount(np.rint(values).astype(np.int64).ravel(), minlength=width)[:width] + 1.0
    return np.log(counts / counts.sum())


def set_output_prior(model: Any, targets: np.ndarray, kind: str) -> None:
    """``model.output_bias: prior``: the output layer's bias from ``prior_bias`` of the training targets."""
    head = model.layers[-1]
    kernel, bias = head.get_weights()
    head.set_weights([kernel, prior_bias(targets, kind, len(bias)).astype(bias.dtype)])


def set_embedding_init(model: Any, inputs: np.ndarray, spec: TaskSpec, seed: int) -> None:
    """``model.embedding_init: ppmi``: the Embedding starts from word vectors of the training inputs
    (``word_vectors.ppmi_vectors``); the padding id, where the task has one, is no word."""
    embedding = model.get_layer("embedding")
    vocab_size, dim = embedding.embeddings.shape
    embedding.set_weights([ppmi_vectors(inputs, vocab_size, dim, skip=0 if spec.padded else None, seed=seed)])


def unwrapped_layers(model: Any) -> list[Any]:
    """A model's layers in order, each Bidirectional one replaced by its two directions (the layers
    that own the cells and the states)."""
    k = keras()
    found: list[Any] = []
    for layer in model.layers:
        found += [layer.forward_layer, layer.backward_layer] if isinstance(layer, k.layers.Bidirectional) else [layer]
    return found


def lstm_cells(model: Any) -> list[Any]:
    """Every LSTM cell of a model, both directions of a Bidirectional one included."""
    return [layer.cell for layer in unwrapped_layers(model) if isinstance(layer, keras().layers.LSTM)]


def set_forget_bias(model: Any, value: float) -> None:
    """Starts each LSTM's forget gate at ``value`` (Keras's gate order i, f, c, o): σ(value) of the cell is
    kept per step, so a larger value lets a gradient reach far back before the gate has learnt anything."""
    for cell in lstm_cells(model):
        bias = np.array(cell.bias.numpy())
        bias[cell.units : 2 * cell.units] = value
        cell.bias.assign(bias)


SOFTMAX_KINDS = ("classification", "tagging", "language_model")


def loss_and_metrics(spec: TaskSpec, smoothing: float = 0.0, targets: np.ndarray | None = None) -> tuple[Any, list[Any]]:
    """The head's loss and metrics; with ``smoothing`` the loss is ``PriorSmoothedCrossentropy``
    towards the frequencies of ``targets`` and a ``cross_entropy`` metric keeps the plain one."""
    k = keras()
    if smoothing:
        if spec.kind not in SOFTMAX_KINDS or targets is None:
            raise ConfigError(
                f"training.label_smoothing smooths a softmax head towards the class frequencies; a {spec.kind} model "
                "has none; remove training.label_smoothing"
            )
        from rnnlab.model.losses import PriorSmoothedCrossentropy

        logits = spec.kind == "language_model"
        width = int(spec.num_classes or 1)
        prior = np.exp(prior_bias(targets, spec.kind, width)).tolist()
        plain = k.metrics.SparseCategoricalCrossentropy(from_logits=logits, name="cross_entropy")
        return PriorSmoothedCrossentropy(prior, smoothing, from_logits=logits), ["accuracy", plain]
    if spec.kind == "binary":
        return k.losses.BinaryCrossentropy(), ["accuracy"]
    if spec.kind == "regression":
        return k.losses.MeanSquaredError(), []
    if spec.kind == "language_model":
        return k.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]
    return k.losses.SparseCategoricalCrossentropy(), ["accuracy"]


MAX_PARAMETERS = 50_000_000
"""A model rnnlab builds: about 800 MB of weights and Adam state in float32, far past any lesson's."""
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def parameter_count(cfg: ModelConfig, spec: TaskSpec) -> int:
    """The model's parameters from the config alone, before anything is allocated (the formulas of
    ``rnnlab summary``), so ``units: 1000000000`` is refused instead of exhausting memory."""
    embedded = spec.token_input and cfg.encoding == "embedding"
    total = (spec.vocab_size or 0) * cfg.embedding_dim if embedded else 0
    width = cfg.embedding_dim if embedded else (spec.vocab_size or spec.features or 1)
    directions = 2 if cfg.bidirectional else 1
    biases = 2 if cfg.layer == "gru" else 1
    first = directions * GATES[cfg.layer] * cfg.units * (width + cfg.units + biases)
    rest = directions * GATES[cfg.layer] * cfg.units * (directions * cfg.units + cfg.units + biases)
    total += first + (cfg.num_layers - 1) * rest
    outputs = spec.num_classes or 1
    return total + directions * cfg.units * outputs + outputs


def check_budget(cfg: ModelConfig, spec: TaskSpec) -> None:
    count = parameter_count(cfg, spec)
    if count > MAX_PARAMETERS:
        raise ConfigError(
            f"model: about {count:,} parameters ({count * 16 / 1e9:,.1f} GB with the optimizer's state), over rnnlab's "
            f"limit of {MAX_PARAMETERS:,}; lower model.units (now {cfg.units:,}) or model.num_layers (now {cfg.num_layers:,})"
        )
