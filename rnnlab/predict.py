"""A trained run answers new inputs, each dataset in its own terms (next letter, label, lyrics)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.datasets import module
from rnnlab.datasets.base import Prediction, Predictor
from rnnlab.numpy_rnn import Network, State, Unsupported, load_network
from rnnlab.runs import Run, load_saved_model, open_run
from rnnlab.train import model_inputs


def load_keras_model(run: Run) -> Any:
    return load_saved_model(run.files)


def keras_predictor(run: Run) -> Predictor:
    model = load_keras_model(run)

    def run_model(x: np.ndarray) -> np.ndarray:
        return np.asarray(model(model_inputs(x, run.spec, run.config.model.encoding), training=False))

    return run_model


class NumpyPredictor:
    """The run's ``weights.npz`` through the NumPy engine: answers without importing TensorFlow.

    ``step`` feeds one time step (a batch of token ids or feature vectors) and returns the new
    state and the model's output for that step, for generating text one character at a time.
    """

    def __init__(self, engine: Network, run: Run) -> None:
        self.engine = engine
        self.run = run

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.engine(model_inputs(x, self.run.spec, self.run.config.model.encoding))

    def initial_state(self, batch: int) -> list[State]:
        return self.engine.initial_state(batch)

    def step(self, state: list[State], x_t: np.ndarray) -> tuple[list[State], np.ndarray]:
        return self.engine.step(state, model_inputs(x_t, self.run.spec, self.run.config.model.encoding))


def numpy_predictor(run: Run) -> NumpyPredictor | None:
    """None when the run has no ``weights.npz`` as new as its model, or a layer the engine lacks."""
    path = run.files.numpy_weights
    if not path.is_file() or path.stat().st_mtime < run.files.model.stat().st_mtime:
        return None
    try:
        return NumpyPredictor(load_network(path), run)
    except (Unsupported, KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile):
        return None


class Answerer:
    """A run opened once, answering many inputs (the lesson's interactive loop)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.dataset = module(run.config.data.dataset)
        self._model: Predictor | None = None
        self.backend = ""

    def model(self) -> Predictor:
        """The NumPy engine when it covers the run, else the Keras model (importing TensorFlow)."""
        if self._model is None:
            hook = getattr(self.dataset, "predictor", None)
            self._model = hook(self.run) if hook else numpy_predictor(self.run)
            found = "numpy" if self._model is not None else "keras"
            self.backend = getattr(self._model, "backend", "keras") if hook else found
            self._model = self._model or keras_predictor(self.run)
        return self._model

    def answer(self, texts: list[str], params: dict[str, Any] | None = None) -> list[Prediction]:
        if not texts:
            return []
        return self.dataset.predict(self.run.config.data, self.run.state, LazyPredictor(self.model), texts, params or {})


class LazyPredictor:
    """Loads the model on first use, so a bad input is refused before any weights are read; other
    attributes (``step``, ``initial_state`` of the NumPy engine) pass through to the loaded model."""

    def __init__(self, load: Callable[[], Predictor]) -> None:
        self._load = load

    def __call__(self, *args: Any) -> Any:
        return self._load()(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


def open_answerer(target: str | Path, overrides: tuple[str, ...] = ()) -> Answerer:
    return Answerer(open_run(target, overrides))


def predict(
    target: str | Path, texts: list[str], params: dict[str, Any] | None = None, overrides: tuple[str, ...] = ()
) -> list[Prediction]:
    return open_answerer(target, overrides).answer(texts, params)
