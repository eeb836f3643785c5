"""The files of a run folder: their names, the readers of what training left there, the weights dump.

No other module spells a run file's name; everything is written through ``rnnlab.atomic``, so a
crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DUMP_FULL_LIMIT = 100_000


@dataclass(frozen=True)
class RunFiles:
    """Every artifact's path, so no module spells a file name on its own."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def vocab(self) -> Path:
        return self.root / "vocab.json"

    @property
    def task(self) -> Path:
        return self.root / "task.json"

    @property
    def best_weights(self) -> Path:
        return self.root / "best.weights.h5"

    @property
    def model(self) -> Path:
        return self.root / "model.keras"

    @property
    def numpy_weights(self) -> Path:
        return self.root / "weights.npz"

    @property
    def history(self) -> Path:
        return self.root / "history.csv"

    @property
    def weights_dump(self) -> Path:
        return self.root / "weights.txt"

    @property
    def curves(self) -> Path:
        return self.root / "curves.png"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.txt"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def backup(self) -> Path:
        return self.root / ".backup"

    def figure(self, name: str) -> Path:
        """A dataset's own picture (``Report.figures``), e.g. ``forecast.png``: a plain ``.png`` name."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.png", name) or name == self.curves.name:
            raise ValueError(f"{name!r} is not a figure name a dataset may write (lower-case letters, digits, _, .png)")
        return self.root / name

    def outputs(self) -> list[Path]:
        """Files a fresh run replaces (the config and vocabulary are rewritten first anyway)."""
        fixed = [self.best_weights, self.model, self.numpy_weights, self.history, self.weights_dump, self.curves]
        figures = sorted(p for p in self.root.glob("*.png") if p not in fixed) if self.root.is_dir() else []
        return [*fixed, *figures, self.metrics, self.summary]


def read_history(path: Path) -> dict[str, list[float]]:
    """history.csv (Keras CSVLogger) as columns; the ``epoch`` column is 0-based."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(math.nan)
    return {k: v for k, v in columns.items() if not all(math.isnan(x) for x in v)}


def weights_dump(variables: list[tuple[str, np.ndarray]]) -> str:
    """The lesson's dump: each trainable variable's name, shape and values."""
    blocks = []
    with np.printoptions(threshold=DUMP_FULL_LIMIT + 1, linewidth=120, precision=6, suppress=True):
        for name, value in variables:
            header = f"{name}  shape={tuple(value.shape)}  dtype={value.dtype}"
            if value.size > DUMP_FULL_LIMIT:
                stats = f"min={value.min():.6g} max={value.max():.6g} mean={value.mean():.6g} std={value.std():.6g}"
                body = f"({value.size} values, too many to list; {stats}; full values in best.weights.h5)"
            else:
                body = np.array2string(value, separator=", ")
            blocks.append(f"{header}\n{body}\n")
    return "\n".join(blocks)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


GRADIENT_COLUMNS = ("grad_norm_mean", "grad_norm_max", "clip_rate")
"""history.csv columns of ``training.log_gradients``: facts about the optimisation, not metrics of the model."""

MAXIMISED = ("accuracy", "auc", "precision", "recall")
"""Metrics where larger is better (also as ``val_…``); every other one, loss and perplexity included, is minimised."""


def monitor_mode(monitor: str) -> str:
    """``"max"`` or ``"min"``: the one rule for "better" that the checkpoint, early stopping, the
    metrics summary and ``rnnlab runs`` share."""
    return "max" if monitor.removeprefix("val_") in MAXIMISED else "min"


def best_index(values: list[float], monitor: str) -> int | None:
    """Position of the best finite value of ``monitor`` (the first of equals), or ``None``."""
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        return None
    pick = max if monitor_mode(monitor) == "max" else min
    return pick(finite, key=lambda pair: pair[0])[1]


def best_value(values: list[float], monitor: str) -> float | None:
    index = best_index(values, monitor)
    return None if index is None else values[index]
