"""A trained run answers new inputs, each dataset in its own terms (next letter, label, lyrics).

The model reaches the dataset as a ``Predictor`` (whole batches and single steps), run by the NumPy
engine from the run's ``weights.npz`` when that covers the run, so ``predict`` never imports
TensorFlow, and by the saved Keras model otherwise. Nothing is loaded before the first input has
been checked, so a bad input is refused at once.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rnnlab import atomic
from rnnlab.data import dataset
from rnnlab.data.contract import Dataset, Prediction
from rnnlab.errors import DataError, RunError
from rnnlab.model.builder import model_inputs
from rnnlab.model.numpy_engine import Network, Unsupported, load_network
from rnnlab.model.stepping import KerasPredictor
from rnnlab.run.opening import Run, load_saved_model, open_run


def numpy_engine(run: Run) -> Network | None:
    """The run's ``weights.npz`` as a NumPy network; None when it is missing, older than the model,
    or holds a layer the engine lacks."""
    path = run.files.numpy_weights
    if not path.is_file() or path.stat().st_mtime < run.files.model.stat().st_mtime:
        return None
    try:
        return load_network(path)
    except (Unsupported, KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile):
        return None


class RunPredictor:
    """The run's model behind the dataset contract's ``Predictor``: the NumPy engine when it covers
    the run, else the Keras model (importing TensorFlow), chosen on first use. ``backend`` says which.

    Args:
        run: the opened run.
        engine: ``auto`` (as above), or ``numpy`` / ``keras`` to insist on one (comparisons, tests).
    """

    def __init__(self, run: Run, engine: Literal["auto", "numpy", "keras"] = "auto") -> None:
        self.run = run
        self.engine = engine
        self.backend = ""
        self._engine: Network | None = None
        self._keras: KerasPredictor | None = None

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        return model_inputs(x, self.run.spec, self.run.config.model.encoding)

    def _load(self) -> None:
        if self.backend:
            return
        self._engine = numpy_engine(self.run) if self.engine != "keras" else None
        if self._engine is not None:
            self.backend = "numpy"
        elif self.engine == "numpy":
            raise RunError(f"{self.run.files.numpy_weights}: missing, stale or beyond the NumPy engine; retrain the run")
        else:
            self._keras = KerasPredictor(load_saved_model(self.run.files), self.run.spec, self.run.config.model.encoding)
            self.backend = "keras"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._load()
        if self._engine is not None:
            return self._engine(self._inputs(x))
        assert self._keras is not None
        return self._keras(x)

    def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """One time step through every layer, the recurrent state carried in ``state``."""
        self._load()
        if self._engine is not None:
            if state is None:
                state = self._engine.initial_state(len(ids))
            state, out = self._engine.step(state, self._inputs(ids))
            return out, state
        assert self._keras is not None
        return self._keras.step(ids, state)


class Answerer:
    """A run opened once, answering many inputs (the lesson's interactive loop)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.dataset: Dataset = dataset(run.config.data.dataset)
        self.model = RunPredictor(run)

    @property
    def backend(self) -> str:
        return self.model.backend

    def answer(self, texts: list[str], params: dict[str, Any] | None = None) -> list[Prediction]:
        if not texts:
            return []
        return self.dataset.predict(self.run.config.data, self.run.state, self.model, texts, params or {})


def open_answerer(target: str | Path, overrides: tuple[str, ...] = ()) -> Answerer:
    return Answerer(open_run(target, overrides))


def predict(
    target: str | Path, texts: list[str], params: dict[str, Any] | None = None, overrides: tuple[str, ...] = ()
) -> list[Prediction]:
    return open_answerer(target, overrides).answer(texts, params)


OUTPUT_FORMATS = (".csv", ".jsonl")


def check_output(path: Path) -> None:
    """``--output`` names a .csv or .jsonl file in an existing folder (checked before any work)."""
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise DataError(f"--output {path}: write answers to a .csv or .jsonl file")
    if not path.parent.is_dir() or path.is_dir():
        raise DataError(
            f"--output {path}: {'a folder' if path.is_dir() else 'no such folder ' + str(path.parent)}; give a file in an existing folder"
        )


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: a nested mapping (every class's probability) becomes ``key.name`` columns."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update({f"{key}.{name}": inner for name, inner in value.items()})
        else:
            out[key] = value if not isinstance(value, list) else atomic.json_text(value)
    return out


def write_predictions(path: Path, predictions: list[Prediction]) -> None:
    """Every answer's record, one row (CSV) or one JSON object per line (JSONL), written atomically."""
    if path.suffix.lower() == ".jsonl":
        atomic.write_text(path, "".join(atomic.json_text(p.record) + "\n" for p in predictions))
        return
    rows = [flat(p.record) for p in predictions]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(path, buffer.getvalue())
