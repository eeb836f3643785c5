"""``rnnlab summary``: the model a config describes, built without training, every layer's parameter
count explained (``rnnlab.model.params``)."""

from __future__ import annotations

from rnnlab.config import Config
from rnnlab.data import dataset
from rnnlab.data.contract import TaskSpec
from rnnlab.model.builder import build_model
from rnnlab.model.params import ModelSummary, summarize


def task_spec(config: Config) -> TaskSpec:
    """Sizes from the config alone when it fixes them; otherwise read the data (no training)."""
    chosen = dataset(config.data.dataset)
    spec = chosen.spec(config.data)
    if spec is None:
        spec = chosen.load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split).spec
    return spec


def summary_for_config(config: Config) -> ModelSummary:
    return summarize(build_model(config.model, task_spec(config)))
