"""A split of any dataset for ``evaluate`` and ``show``: the dataset's own full split where it has one
(IMDB's test/train review files), else the split its ``load`` makes, named: test, else the
validation tail, else the training data. Decoding falls back to the run's ``vocab`` list."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rnnlab.config import Config
from rnnlab.data.contract import Dataset, Split
from rnnlab.errors import DataError

SPLITS = ("test", "validation", "train")


def has_own_examples(chosen: Dataset) -> bool:
    return type(chosen).examples is not Dataset.examples


def any_split(chosen: Dataset, config: Config, state: dict[str, Any], wanted: str | None) -> tuple[str, Split]:
    """``(name, split)``: ``wanted`` (or the first of test, validation, train the dataset has)."""
    if has_own_examples(chosen):
        name = wanted or "test"
        return name, chosen.examples(config.data, state, name)
    data = chosen.load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split)
    if data.state != state:
        raise DataError(
            f"dataset {chosen.name()!r}: the data now gives a different vocabulary than the run's vocab.json; "
            "use the data the run was trained on, or retrain with `rnnlab train CONFIG --fresh`"
        )
    present = {"test": data.test, "validation": data.validation, "train": data.train}
    name = wanted or next(n for n in SPLITS if present[n] is not None)
    split = present.get(name)
    if split is None:
        have = ", ".join(n for n in SPLITS if present[n] is not None)
        hint = " (set training.validation_split to hold some out)" if name == "validation" else ""
        raise DataError(f"--split {name}: dataset {chosen.name()!r} has no {name} split here{hint}; use one of {have}")
    return name, split


def tokens(values: Any, state: dict[str, Any]) -> str:
    """Ids as the run's vocabulary spells them (characters joined, words spaced), else the numbers."""
    vocab = state.get("vocab")
    array = np.asarray(values)
    if isinstance(vocab, list) and array.dtype.kind in "iu" and all(0 <= int(i) < len(vocab) for i in array.ravel()):
        words = [str(vocab[int(i)]) for i in array.ravel()]
        return ("" if all(len(w) == 1 for w in words) else " ").join(words)
    return json.dumps(np.round(array.astype(float), 4).tolist())


def decode(chosen: Dataset, x: Any, y: Any, state: dict[str, Any]) -> tuple[str, str]:
    """``(text, label)`` of one sample: the dataset's own decoding where it has one."""
    if has_own_examples(chosen):
        return chosen.decode(x, state), chosen.label_name(y, state)
    return tokens(x, state), tokens(y, state)
