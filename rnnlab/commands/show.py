"""``rnnlab show``: one sample of a dataset's split, decoded back to words (the lesson's check that
the ids mean what they should)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnlab.config import Config
from rnnlab.data import dataset
from rnnlab.errors import DataError, RunError
from rnnlab.run.files import RunFiles, read_json
from rnnlab.run.opening import check_same_model


@dataclass
class Example:
    split: str
    index: int
    label: str
    text: str
    ids: list[int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def saved_state(config: Config) -> dict[str, Any] | None:
    """The vocabulary of a trained run of this config, if there is one that matches it."""
    files = RunFiles(config.run_dir)
    if not (files.vocab.is_file() and files.config.is_file()):
        return None
    try:
        check_same_model(files, config)
    except RunError:
        return None
    state: dict[str, Any] = read_json(files.vocab)
    return state


def show_example(config: Config, index: int, split: str = "train") -> Example:
    """Sample ``index`` of a split in the source's order, decoded with the run's vocabulary when the
    config has been trained (else the one loading the data learns)."""
    chosen = dataset(config.data.dataset)
    state = saved_state(config)
    if state is None:
        state = chosen.load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split).state
    samples = chosen.examples(config.data, state, split)
    if not 0 <= index < len(samples):
        raise DataError(f"--index {index}: the {split} split has {len(samples)} samples; give 0 to {len(samples) - 1}")
    ids = [int(i) for i in samples.x[index] if i != 0]
    return Example(split, index, chosen.label_name(samples.y[index], state), chosen.decode(samples.x[index], state), ids)
