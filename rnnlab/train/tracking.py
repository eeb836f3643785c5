"""``training.tracking: mlflow``: the run's params, per-epoch metrics and run-folder files logged
through MLflow (``pip install -e '.[mlflow]'``) to ``MLFLOW_TRACKING_URI``, a local
``sqlite:///mlflow.db`` when it is unset. The run folder stays the record; MLflow is a copy."""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnlab.config import Config
from rnnlab.errors import ConfigError
from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

DEFAULT_URI = "sqlite:///mlflow.db"
URI_ENV = "MLFLOW_TRACKING_URI"
ARTIFACTS = ("config.yaml", "vocab.json", "task.json", "metrics.json", "history.csv", "curves.png", "weights.txt", "summary.txt")


def check_tracking(config: Config) -> None:
    """Say before any file is touched when the extra is missing."""
    if config.training.tracking == "mlflow" and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            "training.tracking is mlflow but the mlflow package is not installed; "
            "`pip install -e '.[mlflow]'` or set training.tracking: none"
        )


def flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flat(value, f"{name}.")
        else:
            out[name] = value
    return out


class MlflowTracking(k.callbacks.Callback):
    """One MLflow run per ``train`` call (named after the run, tagged with its folder): params at the
    start, each epoch's metrics (the absolute epoch as the step), the run folder's files at the end
    (``finish``, called by the trainer once the folder is written)."""

    def __init__(self, config: Config, run_dir: Path) -> None:
        super().__init__()
        import mlflow

        self.mlflow = mlflow
        self.config = config
        self.run_dir = run_dir
        mlflow.set_tracking_uri(os.environ.get(URI_ENV) or DEFAULT_URI)
        mlflow.set_experiment(config.name)
        self.active: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.active = self.mlflow.start_run(run_name=self.config.name, tags={"rnnlab.run_dir": str(self.run_dir)})
        params = {k: v for k, v in flat(self.config.model_dump(mode="json")).items()}
        self.mlflow.log_params({k: "null" if v is None else v for k, v in params.items()})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        numbers = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float)) and math.isfinite(float(v))}
        if numbers:
            self.mlflow.log_metrics(numbers, step=epoch + 1)

    def finish(self, metrics: dict[str, Any]) -> None:
        if self.active is None:
            return
        summary = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(float(v))}
        self.mlflow.log_metrics({f"summary.{k}": v for k, v in summary.items()})
        for name in ARTIFACTS:
            if (self.run_dir / name).is_file():
                self.mlflow.log_artifact(str(self.run_dir / name))
        self.mlflow.end_run()
        self.active = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Nothing here: the trainer calls ``finish`` after the run folder is written."""


def tracker(config: Config, run_dir: Path) -> MlflowTracking | None:
    if config.training.tracking != "mlflow":
        return None
    check_tracking(config)
    return MlflowTracking(config, run_dir)
