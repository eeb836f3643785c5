"""Looking at a trained run and its data: test-split scores of the saved model, one sample decoded.

Both need the dataset module to expose its splits (``examples(options, state, split)``); ``show``
also needs ``decode(ids, state)`` and ``label_name(label)`` to turn ids back into words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from rnnlab.artifacts import RunFiles, read_json
from rnnlab.config import Config
from rnnlab.datasets import module
from rnnlab.datasets.base import Split
from rnnlab.errors import DataError, RunError
from rnnlab.runs import Run, check_same_model, open_run


@dataclass
class Example:
    split: str
    index: int
    label: str
    text: str
    ids: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"split": self.split, "index": self.index, "label": self.label, "text": self.text, "ids": self.ids}


def dataset_with(config: Config, *hooks: str) -> ModuleType:
    dataset = module(config.data.dataset)
    if not all(hasattr(dataset, hook) for hook in hooks):
        raise DataError(f"dataset {config.data.dataset!r} has no test/train review files to read this way")
    return dataset


def test_split(run: Run) -> Split:
    return dataset_with(run.config, "examples").examples(run.config.data, run.state, "test")


def evaluate_run(target: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """The saved model's loss and metrics on the full test split, batched as in training."""
    from rnnlab.predict import load_keras_model
    from rnnlab.train import evaluate_split

    run = open_run(target, overrides)
    split = test_split(run)
    scores = evaluate_split(load_keras_model(run), split, run.config, run.spec)
    return scores | {"test_samples": len(split), "run": str(run.files.root)}


def saved_state(config: Config) -> dict[str, Any] | None:
    """The vocabulary of a trained run of this config, if there is one that matches it."""
    files = RunFiles(config.run_dir)
    if not (files.vocab.is_file() and files.config.is_file()):
        return None
    try:
        check_same_model(files, config)
    except RunError:
        return None
    return read_json(files.vocab)


def show_example(config: Config, index: int, split: str = "train") -> Example:
    """Sample ``index`` of a split in the source's order, decoded back to words (the lesson's check)."""
    dataset = dataset_with(config, "examples", "decode", "label_name")
    state = saved_state(config)
    if state is None:
        state = dataset.load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split).state
    samples = dataset.examples(config.data, state, split)
    if not 0 <= index < len(samples):
        raise DataError(f"--index {index}: the {split} split has {len(samples)} samples; give 0 to {len(samples) - 1}")
    ids = [int(i) for i in samples.x[index] if i != 0]
    return Example(split, index, dataset.label_name(samples.y[index]), dataset.decode(samples.x[index], state), ids)
