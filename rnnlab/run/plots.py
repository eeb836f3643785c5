"""Pictures of training: a run's own ``curves.png``, and several runs' curves of one metric in one
picture (SimpleRNN vs LSTM, one-hot vs Embedding)."""

from __future__ import annotations

from collections.abc import Sequence
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
    metric: str = ""


@dataclass
class Overlay:
    metric: str
    curves: list[Curve]
    path: Path

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(c.metric for c in self.curves))


WRITER_KEY = "Software"
PLOT_WRITER = "rnnlab plot"
TRAIN_WRITER = "rnnlab train"
MARKERS_BELOW = 30
"""Runs of fewer epochs get a marker on every point (a 1-epoch run is one dot, not an empty panel)."""
NOT_CURVES = ("epoch", "learning_rate", "lr")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, target: Path, writer: str = TRAIN_WRITER) -> None:
    """The PNG, tagged with who wrote it (``plot`` overwrites only its own pictures)."""
    atomic.write_with(target, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={WRITER_KEY: writer}))
    pyplot().close(fig)


def written_by(path: Path) -> str | None:
    """The ``Software`` tag of a PNG rnnlab wrote, or None for any other file."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            tag = image.info.get(WRITER_KEY)
    except Exception:
        return None
    return tag if isinstance(tag, str) else None


def integer_epochs(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def curve_panels(history: dict[str, list[float]]) -> list[str]:
    """One panel per metric (loss first), each holding the train and validation lines."""
    names = [k for k in history if k not in NOT_CURVES and not k.startswith("val_")]
    return sorted(names, key=lambda k: (k != "loss", k))


def plot_curves(
    history: dict[str, list[float]],
    target: Path,
    title: str,
    best_epoch: int | None = None,
    tests: dict[str, float] | None = None,
) -> None:
    """``curves.png``: a panel per metric, train and validation lines, the best epoch (the one
    ``best.weights.h5`` holds) as a dotted line and the test score, when there is one, as a dashed one."""
    plt = pyplot()
    panels = curve_panels(history)
    epochs = [int(e) + 1 for e in history.get("epoch", range(len(history.get("loss", []))))]
    marker = "o" if len(epochs) < MARKERS_BELOW else None
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5 * max(1, len(panels)), 3.8), squeeze=False)
    for ax, name in zip(axes[0], panels):
        ax.plot(epochs, history[name], label=f"train {name}", marker=marker)
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label=f"validation {name}", marker=marker)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch {best_epoch}")
        if tests and isinstance(tests.get(name), (int, float)):
            ax.axhline(tests[name], color="black", linestyle="--", linewidth=1, label=f"test {name} {tests[name]:.4f}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        integer_epochs(ax)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, target)


def gradient_figure(norms: dict[str, Sequence[float]]) -> Any:
    """‖∂loss/∂h_t‖ against the time step t, one line per run (``rnnlab.train.gradients``), on a log
    axis so that a gradient shrinking by a factor per step back is a straight line; the title names
    the runs. The caller saves it (``save_png``)."""
    fig, ax = pyplot().subplots(figsize=(7, 4.2))
    for label, values in norms.items():
        steps = range(1, len(values) + 1)
        ax.plot(steps, values, label=label, marker="." if len(values) < MARKERS_BELOW else None)
    ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel("time step t (the loss is computed after the last)")
    ax.set_ylabel("‖∂loss/∂h_t‖ (mean over samples)")
    ax.set_title(f"Gradient of the loss w.r.t. h_t: {', '.join(norms)}")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def available_metrics(history: dict[str, list[float]]) -> list[str]:
    return [k for k in history if k != "epoch"]


def run_history(folder: Path) -> dict[str, list[float]]:
    files = RunFiles(Path(folder))
    if not files.history.is_file():
        what = "not trained yet (no history.csv)" if files.config.is_file() else "not a run folder (no history.csv)"
        raise RunError(f"{folder}: {what}; pass run folders such as checkpoints/<name>")
    return read_history(files.history)


def run_curve(folder: Path, metric: str, label: str, history: dict[str, list[float]] | None = None) -> Curve:
    history = run_history(folder) if history is None else history
    if metric not in history:
        choices = ", ".join(available_metrics(history)) or "none"
        raise RunError(f"{folder}: no metric {metric!r} in its history; available: {choices} (pick one with --metric)")
    epochs = [int(e) + 1 for e in history.get("epoch", range(len(history[metric])))]
    return Curve(label, epochs, history[metric], metric)


def run_labels(folders: list[Path]) -> list[str]:
    """Folder names, or longer paths where two runs share a name (the same config under two roots)."""
    names = [Path(f).resolve().name for f in folders]
    return [Path(f).as_posix() if names.count(n) > 1 else n for f, n in zip(folders, names)]


def overlay_figure(curves: list[Curve], metric: str | None = None, logy: bool = False) -> Any:
    """One panel per metric family (``loss`` holds ``loss`` and ``val_loss``, validation dashed in
    the same colour as its run), one line per run."""
    families = list(dict.fromkeys((c.metric or metric or "").removeprefix("val_") for c in curves))
    fig, axes = pyplot().subplots(1, len(families), figsize=(7 * len(families), 4.2), squeeze=False)
    labels = list(dict.fromkeys(c.label for c in curves))
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    metrics = list(dict.fromkeys(c.metric or metric or "" for c in curves))
    for ax, family in zip(axes[0], families):
        shown = [c for c in curves if (c.metric or metric or "").removeprefix("val_") == family]
        several = len({c.metric for c in shown}) > 1
        for curve in shown:
            name = curve.metric or metric or ""
            ax.plot(
                curve.epochs,
                curve.values,
                label=f"{curve.label} {name}" if several else curve.label,
                marker="." if len(curve.epochs) < MARKERS_BELOW else None,
                color=colours[curve.label],
                linestyle="--" if name.startswith("val_") else "-",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(family if several else shown[0].metric or metric)
        ax.set_title(f"{' and '.join(m for m in metrics if m.removeprefix('val_') == family)} per epoch")
        if logy:
            ax.set_yscale("log", nonpositive="mask")  # a 0 accuracy is left out, not an error
        integer_epochs(ax)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def default_metrics(histories: list[dict[str, list[float]]]) -> list[str]:
    """What every run has: ``loss``, and ``val_loss`` beside it when a run has validation data."""
    return ["loss", "val_loss"] if any("val_loss" in h for h in histories) else ["loss"]


def check_overwrite(target: Path, writer: str = PLOT_WRITER) -> None:
    """A command replaces only the pictures it wrote itself, never a file of the user's."""
    if target.exists() and written_by(target) != writer:
        raise RunError(f"--out {target}: the file exists and was not written by `{writer}`; choose another --out or remove it")


def plot_runs(
    folders: list[Path], metric: str | list[str] | None = None, out: Path | None = None, *, logy: bool = False
) -> Overlay:
    """Every run's curve of each metric (default ``default_metrics``); a defaulted ``val_loss``
    is drawn for the runs that have it, a metric asked for by name must be in every run."""
    if not folders:
        raise RunError("no runs given; pass one or more run folders, e.g. checkpoints/alphabet_onehot")
    histories = [run_history(Path(f)) for f in folders]
    asked = [metric] if isinstance(metric, str) else list(metric or [])
    metrics = asked or default_metrics(histories)
    curves = [
        run_curve(Path(f), m, label, history)
        for m in metrics
        for f, label, history in zip(folders, run_labels(folders), histories)
        if asked or m in history or m == "loss"
    ]
    families = list(dict.fromkeys(m.removeprefix("val_") for m in metrics))
    target = Path(out) if out is not None else Path(f"{'_'.join(families)}.png")
    if target.suffix.lower() != ".png":
        raise RunError(f"--out {target}: the picture is a PNG; give a file name ending in .png")
    check_overwrite(target)
    save_png(overlay_figure(curves, logy=logy), target, writer=PLOT_WRITER)
    return Overlay(" and ".join(metrics), curves, target)
