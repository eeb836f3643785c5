"""Several runs' curves of one metric in one picture: SimpleRNN vs LSTM, one-hot vs Embedding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab import fileio
from rnnlab.artifacts import RunFiles, read_history
from rnnlab.errors import RunError


@dataclass
class Curve:
    label: str
    epochs: list[int]
    values: list[float]


@dataclass
class Overlay:
    metric: str
    curves: list[Curve]
    path: Path


def available_metrics(history: dict[str, list[float]]) -> list[str]:
    return [k for k in history if k != "epoch"]


def run_curve(folder: Path, metric: str, label: str) -> Curve:
    files = RunFiles(Path(folder))
    if not files.history.is_file():
        what = "not trained yet (no history.csv)" if files.config.is_file() else "not a run folder (no history.csv)"
        raise RunError(f"{folder}: {what}; pass run folders such as checkpoints/<name>")
    history = read_history(files.history)
    if metric not in history:
        choices = ", ".join(available_metrics(history)) or "none"
        raise RunError(f"{folder}: no metric {metric!r} in its history; available: {choices} (pick one with --metric)")
    epochs = [int(e) + 1 for e in history.get("epoch", range(len(history[metric])))]
    return Curve(label, epochs, history[metric])


def run_labels(folders: list[Path]) -> list[str]:
    """Folder names, or longer paths where two runs share a name (the same config under two roots)."""
    names = [Path(f).resolve().name for f in folders]
    return [Path(f).as_posix() if names.count(n) > 1 else n for f, n in zip(folders, names)]


def overlay_figure(curves: list[Curve], metric: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for curve in curves:
        ax.plot(curve.epochs, curve.values, label=curve.label, marker="." if len(curve.epochs) < 30 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_runs(folders: list[Path], metric: str = "val_loss", out: Path | None = None) -> Overlay:
    if not folders:
        raise RunError("no runs given; pass one or more run folders, e.g. checkpoints/alphabet_onehot")
    curves = [run_curve(Path(f), metric, label) for f, label in zip(folders, run_labels(folders))]
    target = Path(out) if out is not None else Path(f"{metric}.png")
    if target.suffix.lower() != ".png":
        raise RunError(f"--out {target}: the picture is a PNG; give a file name ending in .png")
    import matplotlib.pyplot as plt

    fig = overlay_figure(curves, metric)
    fileio.write_with(target, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Overlay(metric, curves, target)
