"""Text generation one token at a time, the recurrent state carried from step to step.

``generate`` needs only a step function: ids of one token per row plus the state in, logits plus
the new state out (``Predictor.step``), so the same loop drives the NumPy engine or the Keras cells.
Nothing re-reads the text already generated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

StepFn = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]
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
    state: Any = None
    logits = None
    for token in prefix:
        logits, state = step(np.array([token], dtype=np.int32), state)
    out: list[int] = []
    while True:
        out.append(int(choose_next(np.asarray(logits), temperature, top_k, rng)[0]))
        if len(out) == length:
            return out
        logits, state = step(np.array(out[-1:], dtype=np.int32), state)
