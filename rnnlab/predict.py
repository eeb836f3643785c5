"""A trained run answers new inputs, each dataset in its own terms (next letter, label, lyrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.datasets import module
from rnnlab.datasets.base import Prediction, Predictor
from rnnlab.errors import RunError
from rnnlab.runs import Run, open_run
from rnnlab.runtime import keras
from rnnlab.train import model_inputs


def load_keras_model(run: Run) -> Any:
    from rnnlab.layers import custom_objects

    try:
        return keras().saving.load_model(run.files.model, safe_mode=True, custom_objects=custom_objects())
    except (OSError, ValueError) as exc:
        raise RunError(f"{run.files.model}: cannot load the saved model ({exc}); retrain with --fresh") from None


def keras_predictor(run: Run) -> Predictor:
    model = load_keras_model(run)

    def run_model(x: np.ndarray) -> np.ndarray:
        return np.asarray(model(model_inputs(x, run.spec, run.config.model.encoding), training=False))

    return run_model


class Answerer:
    """A run opened once, answering many inputs (the lesson's interactive loop)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.dataset = module(run.config.data.dataset)
        self._model: Predictor | None = None

    def model(self) -> Predictor:
        if self._model is None:
            self._model = getattr(self.dataset, "predictor", keras_predictor)(self.run)
        return self._model

    def answer(self, texts: list[str], params: dict[str, Any] | None = None) -> list[Prediction]:
        if not texts:
            return []
        return self.dataset.predict(self.run.config.data, self.run.state, self._lazy_model, texts, params or {})

    def _lazy_model(self, *args: Any) -> Any:
        return self.model()(*args)


def open_answerer(target: str | Path, overrides: tuple[str, ...] = ()) -> Answerer:
    return Answerer(open_run(target, overrides))


def predict(
    target: str | Path, texts: list[str], params: dict[str, Any] | None = None, overrides: tuple[str, ...] = ()
) -> list[Prediction]:
    return open_answerer(target, overrides).answer(texts, params)
