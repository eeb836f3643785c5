"""The files of a run folder, their names, and how each is written (always atomically)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import fileio

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

    def outputs(self) -> list[Path]:
        """Files a fresh run replaces (the config and vocabulary are rewritten first anyway)."""
        return [self.best_weights, self.model, self.numpy_weights, self.history, self.weights_dump, self.curves, self.metrics, self.summary]


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


def curve_panels(history: dict[str, list[float]]) -> list[str]:
    """One panel per metric (loss first), each holding the train and validation lines."""
    names = [k for k in history if k != "epoch" and not k.startswith("val_") and k not in ("learning_rate", "lr")]
    return sorted(names, key=lambda k: (k != "loss", k))


def plot_curves(history: dict[str, list[float]], target: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = curve_panels(history)
    epochs = [e + 1 for e in history.get("epoch", range(len(history.get("loss", []))))]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5 * max(1, len(panels)), 3.8), squeeze=False)
    for ax, name in zip(axes[0], panels):
        ax.plot(epochs, history[name], label=f"train {name}")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fileio.write_with(target, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
