"""The config stage: YAML (plus ``--set`` overrides) → one validated ``Config``."""

from rnnlab.config.loading import describe_error, dump_config, load_config, load_target, read_yaml, validate
from rnnlab.config.schema import (
    MOMENTUM_OPTIMIZERS,
    Checkpoint,
    Config,
    DataOptions,
    EarlyStopping,
    Experiment,
    ModelConfig,
    Training,
)

__all__ = [
    "MOMENTUM_OPTIMIZERS",
    "Checkpoint",
    "Config",
    "DataOptions",
    "EarlyStopping",
    "Experiment",
    "ModelConfig",
    "Training",
    "describe_error",
    "dump_config",
    "load_config",
    "load_target",
    "read_yaml",
    "validate",
]
