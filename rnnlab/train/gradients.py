"""How far back a trained recurrent network's loss reaches: ‖∂loss/∂h_t‖ for every time step t.

The first recurrent layer is run one step at a time through its own cell (its trained weights, any
layer type, stateful or not) under a ``tf.GradientTape``, each hidden state h_t kept, and the rest
of the model applied as trained (to the last h_t, or to all of them for per-step tasks). The
gradient of the batch's loss with respect to each h_t says how much the output still depends on
step t: in a SimpleRNN it shrinks by a factor at every step back from the end (the vanishing
gradient), an LSTM's cell state carries it. Masks (``mask_padding``) are not applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.data import dataset
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import RunError
from rnnlab.model.builder import loss_and_metrics, model_inputs
from rnnlab.model.stepping import zero_state
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.runtime import tensorflow


@dataclass
class HiddenGradients:
    """``norms[t - 1]`` = ‖∂loss/∂h_t‖ of the first recurrent layer, averaged over ``samples`` samples."""

    run: str
    layer: str
    split: str
    samples: int
    norms: np.ndarray


def first_recurrent(model: Any) -> int:
    """The index of the model's first recurrent layer; a bidirectional one has no single h_t."""
    for index, layer in enumerate(model.layers):
        if hasattr(layer, "forward_layer"):
            raise RunError(
                f"layer {layer.name} is bidirectional: its h_t mixes both directions, so there is no one gradient per "
                "step; use a run without model.bidirectional"
            )
        if hasattr(layer, "cell"):
            return index
    raise RunError("the model has no recurrent layer to take gradients through")


def hidden_gradient_norms(model: Any, spec: TaskSpec, encoding: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖∂loss/∂h_t‖ for t = 1..T, the mean over the samples of each one's norm. The loss is the sum
    of the samples' losses, so a sample's gradient does not depend on how many share the batch."""
    tf = tensorflow()
    index = first_recurrent(model)
    layer = model.layers[index]
    loss_fn, _ = loss_and_metrics(spec)
    inputs = tf.constant(model_inputs(x, spec, encoding))
    with tf.GradientTape() as tape:
        sequence = inputs
        for earlier in model.layers[:index]:
            sequence = earlier(sequence, training=False)
        if hasattr(layer, "vocab_size"):
            sequence = tf.one_hot(tf.cast(sequence, tf.int32), layer.vocab_size)
        states = zero_state([layer.cell], len(x))[0]
        hidden = []
        for t in range(sequence.shape[1]):
            output, new = layer.cell(sequence[:, t], states, training=False)
            states = list(new) if isinstance(new, (list, tuple)) else [new]
            hidden.append(output)
        out = tf.stack(hidden, axis=1) if layer.return_sequences else hidden[-1]
        for later in model.layers[index + 1 :]:
            out = later(out, training=False)
        loss = loss_fn(tf.constant(y), out) * len(x)
    gradients = tape.gradient(loss, hidden)
    return np.array([0.0 if g is None else float(tf.reduce_mean(tf.norm(g, axis=-1))) for g in gradients])


def run_hidden_gradients(target: str | Path, *, samples: int = 64) -> HiddenGradients:
    """``hidden_gradient_norms`` of a trained run (its config or folder) on the first ``samples``
    samples of its validation split, else its training data, loaded as ``train`` loads them."""
    run = open_run(target)
    config = run.config
    data = dataset(config.data.dataset).load(
        config.data, seed=config.experiment.seed, validation_split=config.training.validation_split
    )
    split, name = (
        (data.validation, "validation") if data.validation is not None and len(data.validation) else (data.train, "train")
    )
    x, y = split.x[:samples], split.y[:samples]
    model = load_saved_model(run.files)
    norms = hidden_gradient_norms(model, run.spec, config.model.encoding, x, y)
    layer = model.layers[first_recurrent(model)].name
    return HiddenGradients(run=config.name, layer=layer, split=name, samples=len(x), norms=norms)
