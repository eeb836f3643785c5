"""Sequences of vectors → one number (the lesson "边写代码边学习之RNN").

Built in: the lesson's three sequences [[1,2],[2,3],[3,4]] → 10, [[5,6],[6,7],[7,8]] → 20,
[[9,10],[10,11],[11,12]] → 30. Or ``data.path`` names the user's own sequences:

- CSV: a header row ``sequence,target``, then one sample per row; a sequence is written like
  ``--prefix``: steps separated by ``;``, the numbers of a step by spaces or commas
  (``1 2;2 3;3 4,10`` or ``"1,2;2,3;3,4",10``);
- NPZ: arrays ``x`` of shape (samples, steps, features) and ``y`` of shape (samples,).

Every sequence has the same number of steps and features.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rnnlab import fetch
from rnnlab.data.contract import Dataset, DatasetOptions, Prediction, Predictor, Prepared, TaskSpec, prepared
from rnnlab.errors import DataError
from rnnlab.fetch import load_npz

LESSON_X = [[[1, 2], [2, 3], [3, 4]], [[5, 6], [6, 7], [7, 8]], [[9, 10], [10, 11], [11, 12]]]
LESSON_Y = [10, 20, 30]
EXAMPLE = "1,2;2,3;3,4"


class Options(DatasetOptions):
    dataset: Literal["regression"] = "regression"
    path: str | None = Field(
        None, description="CSV (sequence,target rows) or NPZ (x, y arrays) of your own sequences; null = the lesson's three"
    )


def parse_sequence(text: str, where: str) -> np.ndarray:
    """``"1,2;2,3;3,4"`` or JSON ``[[1,2],[2,3],[3,4]]`` → a (steps, features) float array."""
    text = text.strip()
    rows: Any = None
    try:
        if text.startswith("["):
            rows = json.loads(text)
        else:
            rows = [[float(v) for v in re.split(r"[,\s]+", step.strip()) if v] for step in text.split(";")]
        array = np.array(rows, dtype=np.float32)
    except (ValueError, TypeError):
        if isinstance(rows, list) and len({len(r) for r in rows if isinstance(r, list)}) > 1:
            raise DataError(
                f"{where}: {text!r} has steps of different lengths; give every step as many numbers, e.g. {EXAMPLE!r}"
            ) from None
        raise DataError(
            f"{where}: {text!r} is not a sequence of numbers; write steps separated by ';' and a step's numbers "
            f"by ',' (e.g. {EXAMPLE!r}) or JSON like [[1,2],[2,3],[3,4]]"
        ) from None
    if array.ndim != 2 or array.size == 0:
        raise DataError(f"{where}: {text!r} must be steps of equal length, e.g. {EXAMPLE!r}")
    if not np.isfinite(array).all():
        raise DataError(f"{where}: {text!r} contains inf or nan; use finite numbers")
    return array


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        rows = list(csv.reader(io.StringIO(fetch.regular_file_bytes(path, what="CSV file").decode("utf-8-sig"), newline="")))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise DataError(f'{path}: not a readable CSV ({exc}); write rows like "{EXAMPLE}",10') from None
    if not rows or [c.strip() for c in rows[0]] != ["sequence", "target"]:
        raise DataError(f"{path}: the first row must be the header 'sequence,target'; then rows like \"{EXAMPLE}\",10")
    xs, ys = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}, line {number}"
        if len(row) != 2:
            raise DataError(
                f"{where}: expected 2 columns (sequence,target), got {len(row)}; quote a sequence that contains commas"
            )
        xs.append(parse_sequence(row[0], where))
        try:
            ys.append(float(row[1]))
        except ValueError:
            raise DataError(f"{where}: target {row[1]!r} is not a number") from None
        if not np.isfinite(ys[-1]):
            raise DataError(f"{where}: target {row[1]!r} is not a finite number; use a finite number")
    return stack_sequences(xs, path), np.array(ys, dtype=np.float32)


def stack_sequences(xs: list[np.ndarray], path: Path) -> np.ndarray:
    if not xs:
        raise DataError(f'{path}: no samples; add rows like "{EXAMPLE}",10')
    shapes = sorted({x.shape for x in xs})
    if len(shapes) > 1:
        raise DataError(f"{path}: sequences differ in (steps, features): {shapes[:3]}; give every sample the same shape")
    return np.stack(xs)


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read without pickle (``fetch.load_npz``); only real-valued numeric arrays are accepted."""
    arrays = load_npz(path)
    missing = {"x", "y"} - arrays.keys()
    if missing:
        raise DataError(f"{path}: missing array(s) {sorted(missing)}; save x (samples, steps, features) and y (samples,)")
    for name in ("x", "y"):
        if arrays[name].dtype.kind not in "biuf":
            raise DataError(f"{path}: array {name} holds {arrays[name].dtype} values, not real numbers; save it as float or int")
    x, y = arrays["x"].astype(np.float32), arrays["y"].astype(np.float32)
    if x.ndim != 3 or y.ndim == 0 or len(x) == 0 or len(x) != len(y) or y.size != len(y):
        raise DataError(
            f"{path}: x must be (samples, steps, features) and y (samples,) with as many samples, at least one; "
            f"got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError(f"{path}: x or y contains inf or nan; use finite numbers")
    return x, y.reshape(-1)


def samples(options: Options) -> tuple[np.ndarray, np.ndarray]:
    if options.path is None:
        return np.array(LESSON_X, dtype=np.float32), np.array(LESSON_Y, dtype=np.float32)
    path = Path(options.path).expanduser()
    if path.is_dir():
        raise DataError(f"data.path {path}: is a folder; give the .csv or .npz file itself")
    if not path.exists():
        raise DataError(f"data.path {path}: file not found; give a .csv or .npz file (layout: docs/datasets.md, regression)")
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    if path.suffix.lower() == ".npz":
        return read_npz(path)
    raise DataError(f"data.path {path}: unknown file type {path.suffix!r}; use .csv or .npz")


def spec_for(x: np.ndarray) -> TaskSpec:
    return TaskSpec(kind="regression", timesteps=int(x.shape[1]), features=int(x.shape[2]))


def encode(text: str, state: dict[str, Any]) -> np.ndarray:
    sequence = parse_sequence(text, "prefix")
    expected = (state["timesteps"], state["features"])
    if sequence.shape != expected:
        raise DataError(
            f"prefix {text.strip()!r} has {sequence.shape[0]} step(s) of {sequence.shape[1]} number(s) but this run "
            f"reads {expected[0]} of {expected[1]}, e.g. --prefix {EXAMPLE!r}"
        )
    return sequence


class Regression(Dataset[Options]):
    options_model = Options

    def spec(self, options: Options) -> TaskSpec | None:
        if options.path is not None:
            return None
        return spec_for(np.array(LESSON_X))

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        x, y = samples(options)
        state = {"timesteps": int(x.shape[1]), "features": int(x.shape[2])}
        return prepared(spec_for(x), x, y, validation_split=validation_split, seed=seed, state=state)

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        x = np.stack([encode(t, state) for t in texts])
        values = np.asarray(model(x)).reshape(len(texts))
        out = []
        for text, sequence, value in zip(texts, x, values):
            record = {"input": text.strip(), "sequence": sequence.tolist(), "output": round(float(value), 6)}
            out.append(Prediction(line=f"{text.strip()} -> {float(value):.4f}", record=record))
        return out
