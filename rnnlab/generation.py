"""Text generation one character at a time, the recurrent state carried from step to step.

``generate`` only needs a *step function* — ids of one character per row plus the state in,
logits plus the new state out — so the same loop drives the Keras cells (``keras_step``, one
compiled call per character) or any other engine with the same signature. Nothing re-reads
the text already generated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnnlab.runtime import tensorflow

State = Any
StepFn = Callable[[np.ndarray, State], tuple[np.ndarray, State]]
"""``step(ids, state) -> (logits, state)``: ids shape (rows,), logits (rows, vocab); ``state=None`` starts from zeros."""


def choose_next(logits: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy (the lesson) at temperature 0; otherwise sample from softmax(logits / T), among the top k if k > 0."""
    if temperature <= 0:
        return np.argmax(logits, axis=-1)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = np.partition(scaled, -top_k, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    probs = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return np.array([rng.choice(len(p), p=p) for p in probs])


def generate(
    step: StepFn, prefix: list[int], length: int, *, temperature: float = 0.0, top_k: int = 0, seed: int | None = None
) -> list[int]:
    """The ``length`` ids that follow ``prefix``: read the prefix into the state, then feed back each choice."""
    if not prefix or length < 1:
        return []
    rng = np.random.default_rng(seed)
    state: State = None
    logits = None
    for token in prefix:
        logits, state = step(np.array([token], dtype=np.int32), state)
    out: list[int] = []
    while True:
        out.append(int(choose_next(np.asarray(logits), temperature, top_k, rng)[0]))
        if len(out) == length:
            return out
        logits, state = step(np.array(out[-1:], dtype=np.int32), state)


class EngineStep:
    """An engine with ``initial_state(rows)`` and ``step(state, ids) -> (state, logits)`` (the NumPy
    one, which needs no TensorFlow) as a ``StepFn``."""

    backend = "numpy"

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __call__(self, ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        if state is None:
            state = self.engine.initial_state(len(ids))
        state, logits = self.engine.step(state, ids)
        return logits, state


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
        new_states = []
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
