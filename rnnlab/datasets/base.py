"""What every dataset module provides, and the small types the later stages consume.

A dataset module (``rnnlab/datasets/<name>.py``) defines:

- ``Options``: a pydantic model with ``dataset: Literal["<name>"]`` plus its own keys;
- ``spec(options) -> TaskSpec | None``: the model's sizes from the config alone
  (``None`` when they depend on the data, e.g. a vocabulary learned from a corpus);
- ``load(options, *, seed, validation_split) -> Prepared``: arrays plus the encoder state
  that ``predict`` needs later (saved as ``vocab.json`` in the run folder);
- ``predict(options, state, model, texts, params) -> list[Prediction]``: what "predict" means
  for this task, given the trained model wrapped as a ``Predictor``.

Two optional hooks, for datasets that need more than plain ``fit`` and ``model(x)``:

- ``fit_plan(options, training, data) -> FitPlan``: batch order, shuffling, a stateful model,
  extra callbacks (the lyrics' consecutive batches and perplexity);
- ``predictor(run) -> callable``: what ``predict`` receives as ``model`` instead of the
  whole-batch ``Predictor`` (the lyrics' single-step function).

Modules import TensorFlow lazily, so the config and the CLI's help stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

TaskKind = Literal["classification", "binary", "regression", "tagging", "language_model"]


@dataclass(frozen=True)
class TaskSpec:
    """Shapes the model builder needs: input length and alphabet, output head."""

    kind: TaskKind
    timesteps: int | None
    vocab_size: int | None = None
    features: int | None = None
    num_classes: int | None = None
    mask_padding: bool = False

    @property
    def token_input(self) -> bool:
        return self.vocab_size is not None


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Prepared:
    spec: TaskSpec
    train: Split
    validation: Split | None = None
    test: Split | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitPlan:
    """How ``fit`` sees the data. A dataset may reshape it with an optional hook
    ``fit_plan(options, training, data) -> FitPlan`` (e.g. batches that continue each other)."""

    train: Split
    validation: Split | None = None
    shuffle: bool = True
    stateful_batch: int | None = None
    """Build the recurrent layers stateful, with this fixed batch size."""
    callbacks: list[Any] = field(default_factory=list)
    """Run before the trainer's own, so metrics they add to the logs reach CSVLogger."""


@dataclass
class Prediction:
    """One answer: ``line`` for people, ``record`` for ``--json``."""

    line: str
    record: dict[str, Any]


class Predictor(Protocol):
    """The trained model as a dataset sees it: token ids (or features) in, outputs out."""

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def one_hot(ids: np.ndarray, depth: int) -> np.ndarray:
    """float32 one-hot of integer ids, adding a trailing axis of size ``depth``."""
    return np.eye(depth, dtype=np.float32)[np.asarray(ids, dtype=np.int64)]


def shuffled_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[Split, Split | None]:
    """Hold out ``fraction`` of the samples (shuffled with ``seed``) for validation."""
    if fraction <= 0:
        return Split(x, y), None
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(len(x) * fraction)))
    if n_val >= len(x):
        from rnnlab.errors import DataError

        raise DataError(
            f"training.validation_split {fraction} leaves no training samples out of {len(x)}; "
            f"use a smaller fraction, e.g. {round(0.5 * (len(x) - 1) / len(x), 2) or 0}"
        )
    val, train = order[:n_val], order[n_val:]
    return Split(x[train], y[train]), Split(x[val], y[val])
