"""The dataset contract: what every dataset provides, and the small types the later stages consume.

A dataset is a subclass of ``Dataset`` in its own module (``rnnlab/data/<name>.py``, or any
installed package that registers it under the entry-point group ``rnnlab.datasets``). It names its
config section with ``options_model``, a pydantic model whose ``dataset: Literal["<name>"]`` field tags
it inside ``data:``; every other hook has a default, so a new dataset writes ``load`` and
``predict`` and whatever else it needs. The stages after this one call the hooks and nothing
else: no hook is looked up by name.

Datasets import only this package and rnnlab's shared modules (errors, fetch, progress, runtime),
never the config, the model, the trainer or the run folder: what they need is handed to them
(a batch size, a ``Predictor``). TensorFlow is imported lazily, inside hooks, so the config and
the CLI's help stay fast.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from rnnlab.data.baselines import Baselines, for_task
from rnnlab.errors import DataError

TaskKind = Literal["classification", "binary", "regression", "tagging", "language_model"]


@dataclass(frozen=True)
class TaskSpec:
    """Shapes the model builder needs: input length and alphabet, output head."""

    kind: TaskKind
    timesteps: int | None
    vocab_size: int | None = None
    features: int | None = None
    num_classes: int | None = None
    """Output width: classes, or for ``regression`` the values predicted at once (``None`` = 1)."""
    mask_padding: bool = False
    padded: bool = False
    """Id 0 pads the inputs (texts of different lengths) instead of naming a token."""

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
    """What ``load`` returns: the arrays, their shapes, and the encoder state ``predict`` needs later
    (saved as ``vocab.json`` in the run folder, so a run answers with no data present)."""

    spec: TaskSpec
    train: Split
    validation: Split | None = None
    test: Split | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitPlan:
    """How ``fit`` sees the data, when plain shuffled batches are not what the task needs."""

    train: Split
    validation: Split | None = None
    shuffle: bool = True
    stateful_batch: int | None = None
    """Build the recurrent layers stateful, with this fixed batch size."""
    callbacks: list[Any] = field(default_factory=list)
    """Keras callbacks run before the trainer's own, so metrics they add to the logs reach CSVLogger."""


@dataclass
class BatchPlan:
    """A dataset's own batches of a split, as NumPy arrays: the trainer streams them to Keras.

    ``batches()`` is called once per pass over the split and yields ``count`` ``(x, y)`` pairs whose
    ``x`` may differ in width from batch to batch (e.g. padded only to the batch's longest review)."""

    count: int
    batches: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]


@dataclass
class Prediction:
    """One answer: ``line`` for people, ``record`` for ``--json``."""

    line: str
    record: dict[str, Any]


@dataclass
class Report:
    """What a dataset adds to a finished run beyond Keras's loss and metrics (``Dataset.report``)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    """Merged into ``metrics.json``: e.g. errors in the data's own units, a baseline on the same split."""
    lines: list[str] = field(default_factory=list)
    """Printed by ``rnnlab train`` after its metrics."""
    figures: dict[str, Any] = field(default_factory=dict)
    """``name.png`` → a matplotlib ``Figure``; the run folder saves each (``RunFiles.figure``)."""


class Predictor(Protocol):
    """The trained model as a dataset sees it, whichever engine (NumPy or Keras) runs it."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """A whole batch: token ids (or feature vectors) in, the model's outputs out."""
        ...

    def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """One time step, for generating one token at a time: ids of shape (rows,) and the state
        (``None`` = zeros) in, logits (rows, vocab) and the new state out."""
        ...


class DatasetOptions(BaseModel):
    """Base of every dataset's ``Options``: an unknown key is an error, never silently ignored;
    numbers and booleans are strict and finite, as in the rest of the config."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


O = TypeVar("O", bound=BaseModel)


class Dataset(ABC, Generic[O]):
    """One dataset. Subclasses set ``options_model`` and implement ``load`` and ``predict``."""

    options_model: ClassVar[type[BaseModel]]
    """The ``data:`` section's schema (a pydantic model, conventionally named ``Options`` in the
    dataset's module); its ``dataset`` field is ``Literal["<name>"]`` with that default."""
    starter: ClassVar[dict[str, dict[str, Any]]] = {}
    """Settings ``rnnlab init`` writes over the schema's defaults so that a bare starter config
    learns, e.g. ``{"training": {"learning_rate": 0.01, "epochs": 100}}`` for five samples."""

    whole_input: ClassVar[bool] = False
    """``predict`` reads an ``--input-file`` or all of stdin as ONE input (e.g. a series' history)
    instead of one input per line; empty stdin or a terminal gives one empty input."""

    @classmethod
    def name(cls) -> str:
        return str(cls.options_model.model_fields["dataset"].default)

    @classmethod
    def about(cls) -> str:
        """One line on what the dataset is: the first line of its module's docstring."""
        lines = (sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""

    def spec(self, options: O) -> TaskSpec | None:
        """The model's sizes from the config alone (``rnnlab summary`` without data), or ``None`` when
        they depend on the data (a vocabulary learned from a corpus): then ``load`` tells."""
        return None

    @abstractmethod
    def load(self, options: O, *, seed: int, validation_split: float) -> Prepared:
        """The arrays to train on and the encoder state; ``validation_split`` of the training data is
        held out (shuffled with ``seed``) unless the dataset has its own validation rule."""

    @abstractmethod
    def predict(
        self, options: O, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        """What "predict" means for this task: raw inputs (``--prefix`` or lines of stdin) → answers.
        ``params`` holds the command's generation options (length, temperature, top_k, seed)."""

    def fit_plan(self, options: O, data: Prepared, *, batch_size: int) -> FitPlan:
        """Batch order, shuffling, a stateful model and extra callbacks; plain shuffled batches by default."""
        return FitPlan(data.train, data.validation)

    def own_batches(self, options: O) -> bool:
        """Whether ``batches`` streams this run's data (then it cannot be split across replicas yet)."""
        return False

    def batches(self, options: O, split: Split, *, batch_size: int, shuffle: bool, seed: int) -> BatchPlan | None:
        """The dataset's own batches of ``split`` (e.g. bucketed by length), or ``None`` for plain arrays."""
        return None

    def report(self, options: O, data: Prepared, model: Predictor) -> Report:
        """Task-specific results of the trained ``model`` on ``data`` (its test split or validation
        tail), called once at the end of ``train``; nothing by default."""
        return Report()

    def baselines(self, options: O, data: Prepared) -> Baselines | None:
        """What predictors that never look at the input score on the split of the run's headline
        number (``baselines.for_task``: majority class, training mean, unigram and bigram
        perplexity), fitted on ``data.train``; override where the dataset knows a better one."""
        return for_task(data, self.label_name)

    def examples(self, options: O, state: dict[str, Any], split: str) -> Split:
        """A whole split in the source's order, encoded with a run's saved ``state`` (``evaluate``, ``show``)."""
        raise DataError(f"dataset {self.name()!r} has no test/train review files to read this way")

    def decode(self, ids: np.ndarray, state: dict[str, Any]) -> str:
        """Ids back to readable text (``show``)."""
        raise DataError(f"dataset {self.name()!r} has no test/train review files to read this way")

    def label_name(self, label: int, state: dict[str, Any] | None = None) -> str:
        """A label's name for people (``show``); ``state`` is the run's encoder state when there is one."""
        return str(label)


def one_hot(ids: np.ndarray, depth: int) -> np.ndarray:
    """float32 one-hot of integer ids, adding a trailing axis of size ``depth``."""
    return np.eye(depth, dtype=np.float32)[np.asarray(ids, dtype=np.int64)]


def prepared(
    spec: TaskSpec, x: np.ndarray, y: np.ndarray, *, validation_split: float, seed: int, state: dict[str, Any]
) -> Prepared:
    """A dataset small enough to shuffle whole: ``validation_split`` of it held out, shuffled with ``seed``."""
    train, validation = shuffled_split(x, y, validation_split, seed)
    return Prepared(spec=spec, train=train, validation=validation, state=state)


def shuffled_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[Split, Split | None]:
    """Hold out ``fraction`` of the samples (shuffled with ``seed``) for validation."""
    if fraction <= 0:
        return Split(x, y), None
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(len(x) * fraction)))
    if n_val >= len(x):
        raise DataError(
            f"training.validation_split {fraction} leaves no training samples out of {len(x)}; "
            f"use a smaller fraction, e.g. {round(0.5 * (len(x) - 1) / len(x), 2) or 0}"
        )
    val, train = order[:n_val], order[n_val:]
    return Split(x[train], y[train]), Split(x[val], y[val])
