"""One time step of a trained model, for generating text one character at a time.

A *step function* takes the ids of one character per row plus the state, and returns the logits
plus the new state (``rnnlab.data.sampling.StepFn``). The NumPy engine steps itself
(``Network.step``); ``keras_step`` makes one from the trained Keras cells, one compiled call per
character, for runs the engine does not cover.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.data.contract import TaskSpec
from rnnlab.data.sampling import StepFn
from rnnlab.model.builder import model_inputs
from rnnlab.runtime import tensorflow

State = Any


class KerasPredictor:
    """A Keras model behind the dataset contract's ``Predictor``: whole batches through the model,
    single steps through its cells (``keras_step``, built on first use)."""

    def __init__(self, model: Any, spec: TaskSpec, encoding: str) -> None:
        self.model = model
        self.spec = spec
        self.encoding = encoding
        self._step: StepFn | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(model_inputs(x, self.spec, self.encoding), training=False))

    def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        if self._step is None:
            self._step = keras_step(self.model)
        return self._step(ids, state)


def zero_state(cells: list[Any], rows: int) -> list[list[np.ndarray]]:
    """One list of zero arrays per recurrent cell (LSTM has two: h and c)."""
    sizes = [cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size] for cell in cells]
    return [[np.zeros((rows, int(s)), dtype=np.float32) for s in size] for size in sizes]


def keras_step(model: Any) -> StepFn:
    """A compiled single step through a trained Sequential that reads token ids: each recurrent
    layer's cell advances once. The cells are the trained layers' own, so the weights are shared,
    and whether the model was trained stateful or not does not matter."""
    tf = tensorflow()
    cells = [layer.cell for layer in model.layers if hasattr(layer, "cell")]

    @tf.function(reduce_retracing=True)
    def run(ids: Any, states: list[list[Any]]) -> tuple[Any, list[list[Any]]]:
        x = ids
        new_states: list[list[Any]] = []
        for layer in model.layers:
            if hasattr(layer, "vocab_size"):
                x = tf.one_hot(x, layer.vocab_size)
            if hasattr(layer, "cell"):
                x, state = layer.cell(x, states[len(new_states)], training=False)
                new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
            else:
                x = layer(x, training=False)
        return x, new_states

    def step(ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        if state is None:
            state = zero_state(cells, len(ids))
        logits, new_state = run(tf.constant(ids, dtype=tf.int32), state)
        return logits.numpy(), new_state

    return step
