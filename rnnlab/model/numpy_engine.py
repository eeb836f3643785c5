"""The textbook equations of the project's layers, in NumPy: the reference ``rnnlab verify`` holds
Keras to, and the engine that lets ``rnnlab predict`` answer without importing TensorFlow.

Shapes follow Keras: a batch of sequences is ``(batch, steps, features)``, kernels are
``(input, units·gates)`` with the gates side by side in Keras's order, and every layer is built
from ``(class name, Keras config, Keras weights)`` so the same arrays drive both sides. Arithmetic
is float64, so a difference from Keras's float32 is Keras's rounding, not the reference's.

Recurrent layers expose ``cell(state, x_t) -> Step`` (the new state, h_t and the gate activations
that made it); ``step`` keeps the state and h_t, and ``Network.step`` chains them, which is what
character-by-character generation needs. ``Network.trace`` keeps every step's h_t and gates for
``rnnlab inspect``. Anything not implemented here raises ``Unsupported`` and callers fall back to Keras.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

State = list[np.ndarray]
LAYERS_KEY = "layers.json"


class Unsupported(Exception):
    """A layer or option this engine does not implement; the caller uses Keras instead."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "softmax": softmax,
}


def activation(name: str | None) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ACTIVATIONS[name or "linear"]
    except KeyError:
        raise Unsupported(f"activation {name!r}") from None


@dataclass(frozen=True)
class LayerWeights:
    """One layer as both sides see it: Keras class name, ``get_config()`` and ``get_weights()``."""

    kind: str
    config: dict[str, Any]
    weights: list[np.ndarray]


class Embedding:
    """Row ``i`` of the table is token ``i``'s vector: a lookup, i.e. one-hot(i) · E."""

    def __init__(self, layer: LayerWeights) -> None:
        self.mask_zero = bool(layer.config.get("mask_zero"))
        (self.table,) = as_float(layer.weights)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return self.table[np.asarray(ids, dtype=np.int64)]

    def mask(self, ids: np.ndarray) -> np.ndarray | None:
        """With ``mask_zero``, which steps are real tokens (id 0 is padding); Keras carries this on."""
        return np.asarray(ids) != 0 if self.mask_zero else None


class Dense:
    """y = φ(x W + b), applied to the last axis (so per step on a sequence)."""

    def __init__(self, layer: LayerWeights) -> None:
        weights = as_float(layer.weights)
        self.kernel = weights[0]
        self.bias = weights[1] if layer.config.get("use_bias", True) else np.zeros(self.kernel.shape[1])
        self.phi = activation(layer.config.get("activation"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.phi(np.asarray(x, dtype=np.float64) @ self.kernel + self.bias)


@dataclass
class Step:
    """One time step of a recurrent layer: the state carried on, h_t, and the gates behind them."""

    state: State
    h: np.ndarray
    gates: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Trace:
    """A recurrent layer (one direction of a Bidirectional one) over a whole input, in the input's
    time order: ``h`` and each gate are (batch, steps, units); a backward direction's step t has
    read the input from its end back to t."""

    layer: str
    kind: str
    h: np.ndarray
    gates: dict[str, np.ndarray]
    direction: str | None = None


class Recurrent:
    """A recurrent layer: ``cell`` is one time step of its equations; ``__call__`` runs a batch."""

    gate_names: ClassVar[tuple[str, ...]] = ()
    """The keys of ``Step.gates``, in the order pictures show them."""

    def __init__(self, layer: LayerWeights) -> None:
        cfg = layer.config
        self.kind = layer.kind
        self.name = str(cfg.get("name", layer.kind))
        self.units = int(cfg["units"])
        self.return_sequences = bool(cfg.get("return_sequences", False))
        self.go_backwards = bool(cfg.get("go_backwards", False))
        self.zero_output_for_mask = bool(cfg.get("zero_output_for_mask", False))
        if cfg.get("return_state"):
            raise Unsupported(f"{layer.kind} with return_state")
        self.phi = activation(cfg.get("activation", "tanh"))
        self.sigma = activation(cfg.get("recurrent_activation", "sigmoid"))
        weights = as_float(layer.weights)
        self.kernel, self.recurrent = weights[0], weights[1]
        self.bias = weights[2] if cfg.get("use_bias", True) else None

    def initial_state(self, batch: int) -> State:
        return [np.zeros((batch, self.units))]

    def read(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def cell(self, state: State, x_t: np.ndarray) -> Step:
        raise NotImplementedError

    def step(self, state: State, x_t: np.ndarray, real: np.ndarray | None = None) -> tuple[State, np.ndarray]:
        done = self.masked_step(state, state[0], x_t, real)
        return done.state, done.h

    def masked_step(self, state: State, h: np.ndarray, x_t: np.ndarray, real: np.ndarray | None) -> Step:
        """One step where a masked sample (``real`` false) keeps its state, and outputs its previous
        h (zeros with ``zero_output_for_mask``), as Keras's masked recurrence does."""
        done = self.cell(state, x_t)
        if real is None:
            return done
        keep = real[:, None]
        done.state = [np.where(keep, new, old) for new, old in zip(done.state, state)]
        done.h = np.where(keep, done.h, 0.0 if self.zero_output_for_mask else h)
        return done

    def steps(self, x: np.ndarray, mask: np.ndarray | None = None) -> Iterator[Step]:
        """Every step of every sample, in the order the steps are read (backwards for ``go_backwards``)."""
        x = self.read(x)
        state = self.initial_state(x.shape[0])
        h = np.zeros((x.shape[0], self.units))
        for t in range(x.shape[1] - 1, -1, -1) if self.go_backwards else range(x.shape[1]):
            done = self.masked_step(state, h, x[:, t], None if mask is None else mask[:, t])
            state, h = done.state, done.h
            yield done

    def sequence(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """h_1 … h_T for every sample: (batch, steps, units), in the order the steps were read."""
        return np.stack([done.h for done in self.steps(x, mask)], axis=1)

    def result(self, hs: np.ndarray) -> np.ndarray:
        """What the layer returns from its read-order sequence: all of it, or the last step."""
        return hs if self.return_sequences else hs[:, -1]

    def __call__(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.result(self.sequence(x, mask))

    def traced(self, x: np.ndarray, direction: str | None = None, mask: np.ndarray | None = None) -> tuple[Trace, np.ndarray]:
        """The layer's trace over ``x`` (time order) and its output, from one pass."""
        done = list(self.steps(x, mask))
        hs = np.stack([d.h for d in done], axis=1)
        order = slice(None, None, -1) if self.go_backwards else slice(None)
        gates = {name: np.stack([d.gates[name] for d in done], axis=1)[:, order] for name in self.gate_names}
        return Trace(self.name, self.kind, hs[:, order], gates, direction), self.result(hs)


class SimpleRNN(Recurrent):
    """h_t = φ(x_t W_x + h_{t-1} W_h + b)."""

    def input_product(self, x_t: np.ndarray) -> np.ndarray:
        return x_t @ self.kernel

    def cell(self, state: State, x_t: np.ndarray) -> Step:
        (h,) = state
        z = self.input_product(x_t) + h @ self.recurrent
        h = self.phi(z if self.bias is None else z + self.bias)
        return Step([h], h)


class LSTM(Recurrent):
    """Keras's gate order i, f, c̃, o (kernel columns [W_i | W_f | W_c | W_o]), σ the recurrent activation:

    i_t = σ(x_t W_i + h_{t-1} U_i + b_i)          input gate
    f_t = σ(x_t W_f + h_{t-1} U_f + b_f)          forget gate
    c̃_t = φ(x_t W_c + h_{t-1} U_c + b_c)          candidate cell
    o_t = σ(x_t W_o + h_{t-1} U_o + b_o)          output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
    h_t = o_t ⊙ φ(c_t)
    """

    gate_names = ("input", "forget", "candidate", "output", "cell")

    def initial_state(self, batch: int) -> State:
        return [np.zeros((batch, self.units)), np.zeros((batch, self.units))]

    def cell(self, state: State, x_t: np.ndarray) -> Step:
        h, c = state
        z = x_t @ self.kernel + h @ self.recurrent
        if self.bias is not None:
            z = z + self.bias
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        i, f, candidate, o = self.sigma(z_i), self.sigma(z_f), self.phi(z_c), self.sigma(z_o)
        c = f * c + i * candidate
        h = o * self.phi(c)
        return Step([h, c], h, {"input": i, "forget": f, "candidate": candidate, "output": o, "cell": c})


class GRU(Recurrent):
    """Keras's gate order z, r, h̃ (kernel columns [W_z | W_r | W_h]). With ``reset_after=True``
    (Keras's default, cuDNN's convention) there are two biases, b (input) and b' (recurrent), and
    the reset gate multiplies the recurrent product *after* the matrix multiply:

    z_t = σ(x_t W_z + b_z + h_{t-1} U_z + b'_z)             update gate
    r_t = σ(x_t W_r + b_r + h_{t-1} U_r + b'_r)             reset gate
    h̃_t = φ(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))    candidate
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t

    With ``reset_after=False`` (the original paper) one bias, and h̃_t = φ(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h).
    """

    gate_names = ("update", "reset", "candidate")

    def __init__(self, layer: LayerWeights) -> None:
        super().__init__(layer)
        self.reset_after = bool(layer.config.get("reset_after", True))
        zeros = np.zeros(3 * self.units)
        if self.bias is None:
            self.input_bias, self.recurrent_bias = zeros, zeros
        elif self.reset_after:
            self.input_bias, self.recurrent_bias = self.bias[0], self.bias[1]
        else:
            self.input_bias, self.recurrent_bias = self.bias, zeros

    def cell(self, state: State, x_t: np.ndarray) -> Step:
        (h,) = state
        u = self.units
        x_z, x_r, x_h = np.split(x_t @ self.kernel + self.input_bias, 3, axis=-1)
        if self.reset_after:
            h_z, h_r, h_h = np.split(h @ self.recurrent + self.recurrent_bias, 3, axis=-1)
            z, r = self.sigma(x_z + h_z), self.sigma(x_r + h_r)
            candidate = self.phi(x_h + r * h_h)
        else:
            h_z, h_r = np.split(h @ self.recurrent[:, : 2 * u], 2, axis=-1)
            z, r = self.sigma(x_z + h_z), self.sigma(x_r + h_r)
            candidate = self.phi(x_h + (r * h) @ self.recurrent[:, 2 * u :])
        h = z * h + (1.0 - z) * candidate
        return Step([h], h, {"update": z, "reset": r, "candidate": candidate})


class OneHotSimpleRNN(SimpleRNN):
    """rnnlab's SimpleRNN fed token ids for one-hot vectors: one-hot(x_t) W_x is row x_t of W_x, so the
    input product is a row lookup and the equations are SimpleRNN's."""

    def read(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.int64)

    def input_product(self, x_t: np.ndarray) -> np.ndarray:
        return self.kernel[x_t]


class CategoryEncoding:
    """``output_mode="one_hot"``: id i becomes row i of the identity, a new last axis of ``num_tokens``."""

    def __init__(self, layer: LayerWeights) -> None:
        if layer.config.get("output_mode") != "one_hot":
            raise Unsupported(f"CategoryEncoding(output_mode={layer.config.get('output_mode')!r})")
        self.depth = int(layer.config["num_tokens"])

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return np.eye(self.depth)[np.asarray(ids, dtype=np.int64)]


class Dropout:
    """Dropout is the identity outside training, which is all this engine runs."""

    def __init__(self, layer: LayerWeights) -> None:
        pass

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x


class Pooling:
    """GlobalMaxPooling1D / GlobalAveragePooling1D: the max or mean of h_1 … h_T over the time axis."""

    def __init__(self, layer: LayerWeights) -> None:
        if layer.config.get("keepdims") or layer.config.get("data_format", "channels_last") != "channels_last":
            raise Unsupported(f"{layer.kind} with keepdims or channels_first")
        self.mean = layer.kind == "GlobalAveragePooling1D"

    def __call__(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Keras's mean counts only unmasked steps; its max reads every step (masked ones output zeros)."""
        x = np.asarray(x, dtype=np.float64)
        if not self.mean:
            return x.max(axis=1)
        if mask is None:
            return x.mean(axis=1)
        weights = np.asarray(mask, dtype=np.float64)[:, :, None]
        return (x * weights).sum(axis=1) / weights.sum(axis=1)


STATELESS: dict[str, type[Dropout | Pooling]] = {
    "Dropout": Dropout,
    "GlobalMaxPooling1D": Pooling,
    "GlobalAveragePooling1D": Pooling,
}
RECURRENT: dict[str, type[Recurrent]] = {
    "SimpleRNN": SimpleRNN,
    "OneHotSimpleRNN": OneHotSimpleRNN,
    "LSTM": LSTM,
    "GRU": GRU,
}
MERGES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "concat": lambda a, b: np.concatenate([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "ave": lambda a, b: (a + b) / 2,
}


class Bidirectional:
    """One copy reads the sequence forwards, a second (own weights) backwards; the backward
    outputs are put back in time order and merged with the forward ones (``concat`` by default)."""

    def __init__(self, layer: LayerWeights) -> None:
        cfg = layer.config
        inner = cfg["layer"]
        kind = inner.get("class_name", "")
        if kind not in RECURRENT or cfg.get("merge_mode", "concat") not in MERGES:
            raise Unsupported(f"Bidirectional({kind}, merge_mode={cfg.get('merge_mode')!r})")
        half = len(layer.weights) // 2
        forward_cfg = {**inner["config"], "go_backwards": False}
        backward_cfg = {**(cfg.get("backward_layer") or inner)["config"], "go_backwards": True}
        self.forward = RECURRENT[kind](LayerWeights(kind, forward_cfg, layer.weights[:half]))
        self.backward = RECURRENT[kind](LayerWeights(kind, backward_cfg, layer.weights[half:]))
        for direction in (self.forward, self.backward):
            direction.zero_output_for_mask = direction.return_sequences  # as Keras's Bidirectional forces it
        self.merge = MERGES[cfg.get("merge_mode", "concat")]
        self.name = str(cfg.get("name", "bidirectional"))

    @property
    def return_sequences(self) -> bool:
        return self.forward.return_sequences

    def combine(self, forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
        if self.return_sequences:
            backward = backward[:, ::-1]
        return self.merge(forward, backward)

    def __call__(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.combine(self.forward(x, mask), self.backward(x, mask))

    def traced(self, x: np.ndarray, mask: np.ndarray | None = None) -> tuple[list[Trace], np.ndarray]:
        """Both directions' traces, named after this layer, and the merged output."""
        forward, forward_out = self.forward.traced(x, "forward", mask)
        backward, backward_out = self.backward.traced(x, "backward", mask)
        forward.layer = backward.layer = self.name
        return [forward, backward], self.combine(forward_out, backward_out)


Layer = Embedding | CategoryEncoding | Dense | Dropout | Pooling | Recurrent | Bidirectional


def passed_on(layer: Layer, mask: np.ndarray | None) -> np.ndarray | None:
    """The mask ``layer``'s output carries, as Keras propagates one: a recurrent layer passes it on
    with its sequence and drops it with its last step, pooling uses it up, Dropout and Dense carry it."""
    if isinstance(layer, Recurrent | Bidirectional):
        return mask if layer.return_sequences else None
    return None if isinstance(layer, Pooling) else mask


def applied(layer: Layer, x: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``layer``'s output for ``x`` and the mask it passes on; an Embedding with ``mask_zero`` makes one."""
    if isinstance(layer, Embedding):
        return layer(x), layer.mask(x)
    if isinstance(layer, Recurrent | Bidirectional | Pooling):
        return layer(x, mask), passed_on(layer, mask)
    return layer(x), mask


def layer_from(weights: LayerWeights) -> Layer:
    if weights.kind in RECURRENT:
        return RECURRENT[weights.kind](weights)
    if weights.kind == "Bidirectional":
        return Bidirectional(weights)
    if weights.kind == "Embedding":
        return Embedding(weights)
    if weights.kind == "CategoryEncoding":
        return CategoryEncoding(weights)
    if weights.kind == "Dense":
        return Dense(weights)
    if weights.kind in STATELESS:
        return STATELESS[weights.kind](weights)
    raise Unsupported(f"layer {weights.kind}")


class Network:
    """A Sequential model's layers in order: ``__call__`` for a batch, ``step`` for one time step."""

    def __init__(self, layers: list[LayerWeights]) -> None:
        self.source = layers
        self.layers = [layer_from(w) for w in layers]

    def outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for the batch ``x``, in order."""
        found, mask = [], None
        for layer in self.layers:
            x, mask = applied(layer, x, mask)
            found.append(x)
        return found

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.outputs(x)[-1]

    def trace(self, x: np.ndarray) -> tuple[list[Trace], np.ndarray]:
        """Every recurrent layer's per-step h_t and gates for the batch ``x`` (a stacked layer reads the
        sequence of the one below; a Bidirectional layer gives one trace per direction), and the
        network's output."""
        traces: list[Trace] = []
        mask: np.ndarray | None = None
        for layer in self.layers:
            if isinstance(layer, Bidirectional):
                both, x = layer.traced(x, mask)
                traces += both
                mask = passed_on(layer, mask)
            elif isinstance(layer, Recurrent):
                one, x = layer.traced(x, mask=mask)
                traces.append(one)
                mask = passed_on(layer, mask)
            else:
                x, mask = applied(layer, x, mask)
        return traces, x

    def embedding(self) -> Embedding | None:
        """The network's Embedding layer, if it reads token ids through one."""
        return next((layer for layer in self.layers if isinstance(layer, Embedding)), None)

    def initial_state(self, batch: int) -> list[State]:
        return [layer.initial_state(batch) for layer in self.recurrent_layers()]

    def step(self, state: list[State], x_t: np.ndarray) -> tuple[list[State], np.ndarray]:
        """Feed one time step (a batch of ids or feature vectors) through every layer."""
        new_state, recurrent = [], iter(state)
        real: np.ndarray | None = None
        for layer in self.layers:
            if isinstance(layer, Bidirectional):
                raise Unsupported("a Bidirectional layer needs the whole sequence, not one step")
            if isinstance(layer, Recurrent):
                layer_state, x_t = layer.step(next(recurrent), layer.read(x_t), real)
                new_state.append(layer_state)
            else:
                x_t, real = applied(layer, x_t, real)
        return new_state, x_t

    def recurrent_layers(self) -> list[Recurrent]:
        return [layer for layer in self.layers if isinstance(layer, Recurrent)]


def as_float(weights: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(w, dtype=np.float64) for w in weights]


def keras_layers(model: Any) -> list[LayerWeights]:
    """A built Keras ``Sequential`` as (class, config, weights) per layer; needs no TensorFlow import."""
    return [LayerWeights(type(layer).__name__, layer.get_config(), layer.get_weights()) for layer in model.layers]


def weight_keys(model: Any) -> list[list[str]]:
    """Per layer, the names its arrays get in ``weights.npz``: layer name, position, variable name
    (``simple_rnn_1/0_kernel``); Keras's own variable paths change when a model is reloaded."""
    return [[f"{layer.name}/{j}_{v.name}" for j, v in enumerate(layer.weights)] for layer in model.layers]


def save_weights(model: Any, target: Path) -> None:
    """``weights.npz``: every layer's arrays under its Keras variable path, plus the layer configs as
    JSON text, so the model can be rebuilt and run with NumPy alone (``np.load(allow_pickle=False)``)."""
    layers, keys = keras_layers(model), weight_keys(model)
    described = [{"class": l.kind, "config": l.config, "weights": k} for l, k in zip(layers, keys)]
    arrays = {key: value for layer, names in zip(layers, keys) for key, value in zip(names, layer.weights)}
    arrays[LAYERS_KEY] = np.array(json.dumps(described, default=str))
    np.savez(target, allow_pickle=False, **arrays)


def load_network(path: Path) -> Network:
    """The model saved by ``save_weights``; raises ``Unsupported`` for layers this engine lacks."""
    with np.load(path, allow_pickle=False) as data:
        described = json.loads(str(data[LAYERS_KEY]))
        layers = [LayerWeights(d["class"], d["config"], [data[k] for k in d["weights"]]) for d in described]
    return Network(layers)
