"""The trivial baselines of each task kind, scored on the split the model's headline number comes from.

A model's number means little alone: accuracy 0.91 is poor when one class is 90% of the data, and a
character model's perplexity of 300 is good or bad only beside what counting characters gives. The
default ``Dataset.baselines`` (``for_task``) fits predictors that never look at the input (or only
at the previous token) on the training part and scores them on the validation split, else the test
split, else the training part itself:

- classification, binary: always the training part's commonest class (``classes.majority_accuracy``);
- tagging: at each position, that position's commonest training label;
- regression: always the training mean (its MSE, which is Keras's loss here, and its MAE);
- language_model: the perplexity of a unigram (add-one smoothed, so no token has probability 0) and
  of a Witten–Bell interpolated bigram, ``p(b|a) = (c(a,b) + T(a) p(b)) / (c(a) + T(a))`` with ``T(a)``
  the number of distinct tokens seen after ``a`` (``p(b)`` the unigram when ``a`` was never seen).
  Witten–Bell has no knob to tune; on the lyrics corpus it scores well below add-k bigrams
  (k = 1, 0.1, 0.01 all lose to it by 100 or more). The model's input at step t is the token
  before its target, so the bigram's contexts are the windows' inputs, exactly the pairs the model
  is scored on, with the vocabulary (and its ``<unk>``) the model's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnlab.data.classes import majority_accuracy

if TYPE_CHECKING:
    from rnnlab.data.contract import Prepared, Split

PREFIXES = {"validation": "val_", "test": "test_", "train": ""}
"""How the model's own number on each split is named in the logs and ``metrics.json``."""


@dataclass
class Baselines:
    """Trivial predictors scored on one split (``Dataset.baselines``), saved under ``baseline`` in ``metrics.json``."""

    split: str
    """``validation``, ``test`` or ``train``: the split the model's headline number comes from."""
    metric: str
    """The model's logged metric they are scored in: ``accuracy``, ``perplexity``, ``loss`` (MSE for regression)..."""
    scores: dict[str, float]
    """Baseline → its score in ``metric``, e.g. ``{"majority_class": 0.52}``."""
    details: dict[str, Any] = field(default_factory=dict)
    """What else people may want to know of them: the class answered, the mean predicted, its MAE."""

    @property
    def model_key(self) -> str:
        """The model's number on the same split: ``val_accuracy``, ``test_rmse``, ``perplexity``..."""
        return PREFIXES.get(self.split, "") + self.metric

    def as_dict(self, model: float | None) -> dict[str, Any]:
        """Strict JSON for ``metrics.json``, with ``model``, the model's own number beside them (None if unknown)."""
        out: dict[str, Any] = {"split": self.split, "metric": self.metric, "model_key": self.model_key, "model": model}
        out["scores"] = {name: finite(value) for name, value in self.scores.items()}
        if self.details:
            out["details"] = self.details
        return out


def finite(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(value) else None


def headline_split(data: Prepared) -> tuple[str, Split] | None:
    """The split a run's headline number is read on: validation, else test, else the training part."""
    for name in ("validation", "test", "train"):
        split = getattr(data, name)
        if split is not None and len(split):
            return name, split
    return None


def for_task(data: Prepared, label_name: Callable[[int, dict[str, Any]], str]) -> Baselines | None:
    """The baselines of ``data.spec.kind`` on the headline split; ``label_name`` names the majority class."""
    found = headline_split(data)
    if found is None:
        return None
    name, split = found
    train, kind = data.train, data.spec.kind
    if kind in ("classification", "binary", "tagging"):
        answer, accuracy = majority_accuracy(np.rint(train.y), np.rint(split.y))
        return Baselines(name, "accuracy", {"majority_class": accuracy}, {"majority_class": label_name(answer, data.state)})
    if kind == "regression":
        mean, mse, mae = mean_errors(train.y, split.y)
        return Baselines(name, "loss", {"training_mean": mse}, {"training_mean": mean, "training_mean_mae": mae})
    if kind == "language_model":
        size = int(data.spec.num_classes or data.spec.vocab_size or 0)
        scores = {
            "bigram": bigram_perplexity(train.x, train.y, split.x, split.y, size),
            "unigram": unigram_perplexity(train.y, split.y, size),
        }
        return Baselines(name, "perplexity", scores, {"bigram": "Witten-Bell interpolated", "unigram": "add-one"})
    return None


def mean_errors(train: np.ndarray, truth: np.ndarray) -> tuple[float | list[float], float, float]:
    """The training targets' mean (one per output) and the MSE and MAE of always predicting it."""
    train, truth = np.asarray(train, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    mean = train.mean(axis=0)
    error = truth - mean
    shown = round(float(mean), 6) if mean.ndim == 0 else [round(float(v), 6) for v in mean]
    return shown, float(np.mean(error**2)), float(np.mean(np.abs(error)))


def unigram_probabilities(train: np.ndarray, size: int) -> np.ndarray:
    """Add-one smoothed frequencies of the training tokens: every id of the vocabulary gets some probability."""
    counts = np.bincount(np.asarray(train, dtype=np.int64).ravel(), minlength=size).astype(np.float64)
    return (counts + 1) / (counts.sum() + len(counts))


def perplexity(probabilities: np.ndarray) -> float:
    return math.exp(-float(np.mean(np.log(probabilities))))


def unigram_perplexity(train: np.ndarray, truth: np.ndarray, size: int) -> float:
    return perplexity(unigram_probabilities(train, size)[np.asarray(truth, dtype=np.int64).ravel()])


def bigram_perplexity(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, y: np.ndarray, size: int) -> float:
    """Witten–Bell: each context ``a`` keeps ``c(a)/(c(a)+T(a))`` for what followed it in training and
    gives the rest to the unigram, more the more different tokens followed it."""
    unigram = unigram_probabilities(train_y, size)
    width = len(unigram)
    pairs, pair_counts = np.unique(
        np.asarray(train_x, np.int64).ravel() * width + np.asarray(train_y, np.int64).ravel(), return_counts=True
    )
    contexts = pairs // width
    seen = np.bincount(contexts, weights=pair_counts, minlength=width)
    followers = np.bincount(contexts, minlength=width).astype(np.float64)
    a, b = np.asarray(x, np.int64).ravel(), np.asarray(y, np.int64).ravel()
    wanted = a * width + b
    at = np.minimum(np.searchsorted(pairs, wanted), len(pairs) - 1)
    count = np.where(pairs[at] == wanted, pair_counts[at], 0)
    known = seen[a] > 0
    mixed = (count + followers[a] * unigram[b]) / np.where(known, seen[a] + followers[a], 1.0)
    return perplexity(np.where(known, mixed, unigram[b]))
