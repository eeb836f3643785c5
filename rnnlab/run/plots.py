"""Pictures of training: a run's own ``curves.png``, and several runs' curves of one metric in one
picture (SimpleRNN vs LSTM, one-hot vs Embedding)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab import atomic
from rnnlab.errors import RunError
from rnnlab.run.files import RunFiles, read_history


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


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, target: Path) -> None:
    atomic.write_with(target, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    pyplot().close(fig)


def curve_panels(history: dict[str, list[float]]) -> list[str]:
    """One panel per metric (loss first), each holding the train and validation lines."""
    names = [k for k in history if k != "epoch" and not k.startswith("val_") and k not in ("learning_rate", "lr")]
    return sorted(names, key=lambda k: (k != "loss", k))


def plot_curves(history: dict[str, list[float]], target: Path, title: str) -> None:
    plt = pyplot()
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
    save_png(fig, target)


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
    fig, ax = pyplot().subplots(figsize=(7, 4.2))
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
    save_png(overlay_figure(curves, metric), target)
    return Overlay(metric, curves, target)
