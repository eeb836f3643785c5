"""Every run under a folder, side by side, read only from the files each run left behind.

Rows come from ``config.yaml``, ``metrics.json`` and ``history.csv`` as plain data (not through the
config schema), so runs of datasets this checkout does not know, and runs that crashed or never
finished, still get a row instead of stopping the listing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rnnlab.errors import RunError
from rnnlab.run.files import MAXIMISED, RunFiles, best_index, read_history

SEARCH_DEPTH = 3
NOT_METRICS = ("epoch", "learning_rate", "lr")


@dataclass
class RunRow:
    name: str
    path: str
    status: str = "trained"
    dataset: str | None = None
    layer: str | None = None
    encoding: str | None = None
    epochs: int | None = None
    best_metric: str | None = None
    best_value: float | None = None
    best_epoch: int | None = None
    test_metric: str | None = None
    test_value: float | None = None
    wall_time_s: float | None = None
    date: str | None = None


@dataclass
class RunTable:
    root: Path
    rows: list[RunRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "runs": [asdict(r) for r in self.rows], "skipped": self.skipped}


def run_folders(root: Path, depth: int = SEARCH_DEPTH) -> tuple[list[Path], list[Path]]:
    """Folders holding a ``config.yaml`` (searched a few levels down, e.g. sweeps), and folders without any."""
    if RunFiles(root).config.is_file():
        return [root], []
    runs: list[Path] = []
    skipped: list[Path] = []
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return [], [root]
    for child in children:
        nested, _ = run_folders(child, depth - 1) if depth > 0 else ([], [])
        runs += nested
        if not nested:
            skipped.append(child)
    return runs, skipped


def headline_metric(history: dict[str, list[float]]) -> str:
    """The metric a person compares runs by: accuracy-like first, then the task's metric, then loss;
    on validation data when there is some."""
    trained = [k for k in history if k not in NOT_METRICS and not k.startswith("val_") and k != "loss"]
    preferred = sorted(trained, key=lambda k: (k not in MAXIMISED, k)) + ["loss"]
    name = preferred[0]
    return f"val_{name}" if f"val_{name}" in history else name


def best_of(history: dict[str, list[float]], metric: str) -> tuple[float, int] | None:
    values = history.get(metric, [])
    index = best_index(values, metric)
    return None if index is None else (round(values[index], 6), index + 1)


def test_score(metrics: dict[str, Any], headline: str) -> tuple[str, float] | None:
    tests = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_") and isinstance(v, (int, float))}
    name = headline.removeprefix("val_")
    chosen = name if name in tests else "loss" if "loss" in tests else next(iter(tests), None)
    return (chosen, tests[chosen]) if chosen is not None else None


def read_mapping(path: Path, parse: Any) -> dict[str, Any] | None:
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def modified(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")


def run_row(folder: Path, root: Path) -> RunRow:
    files = RunFiles(folder)
    name = folder.relative_to(root).as_posix() if folder != root else folder.name
    row = RunRow(name=name or folder.resolve().name, path=str(folder), date=modified(files.config))
    config = read_mapping(files.config, yaml.safe_load)
    if config is None:
        row.status = "broken: config.yaml unreadable"
        return row
    data, model = config.get("data") or {}, config.get("model") or {}
    row.dataset, row.layer, row.encoding = data.get("dataset"), model.get("layer"), model.get("encoding")
    if not files.metrics.is_file():
        row.status = "unfinished" if files.history.is_file() else "untrained"
        return row
    metrics = read_mapping(files.metrics, json.loads)
    if metrics is None:
        row.status = "broken: metrics.json unreadable"
        return row
    row.date = modified(files.metrics)
    row.epochs = metrics.get("epochs")
    row.wall_time_s = metrics.get("wall_time_s")
    history = read_history(files.history)
    headline = headline_metric(history)
    best = best_of(history, headline)
    if best is not None:
        row.best_metric, (row.best_value, row.best_epoch) = headline, best
    test = test_score(metrics, headline)
    if test is not None:
        row.test_metric, row.test_value = test
    return row


def safe_row(folder: Path, root: Path) -> RunRow:
    """A folder someone else wrote (or a crash left) gets a row saying so instead of ending the listing."""
    try:
        return run_row(folder, root)
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        name = folder.relative_to(root).as_posix() if folder != root else folder.name
        return RunRow(name=name, path=str(folder), status=f"broken: {type(exc).__name__}")


def list_runs(root: str | Path = "checkpoints") -> RunTable:
    root = Path(root)
    if not root.is_dir():
        raise RunError(
            f"{root}: no such folder; runs land in experiment.output_root (default checkpoints/), "
            "so train a config first or pass the folder that holds your runs"
        )
    folders, skipped = run_folders(root)
    return RunTable(root, [safe_row(f, root) for f in folders], [p.relative_to(root).as_posix() for p in skipped])


def score(metric: str | None, value: float | None, epoch: int | None = None) -> str:
    if metric is None or value is None:
        return "-"
    return f"{metric} {value:.4f}" + (f" @{epoch}" if epoch else "")


def rich_table(table: RunTable) -> Any:
    """The rows as a rich Table; the caller prints it."""
    from rich.table import Table

    shown = Table(title=f"Runs under {table.root}", title_justify="left")
    for column in ("run", "dataset", "layer", "encoding", "epochs", "best", "test", "wall", "date"):
        shown.add_column(column, justify="right" if column in ("epochs", "wall") else "left", no_wrap=column != "run")
    for row in table.rows:
        best = score(row.best_metric, row.best_value, row.best_epoch) if row.status == "trained" else row.status
        wall = f"{row.wall_time_s:.1f} s" if row.wall_time_s is not None else "-"
        cells = [row.dataset, row.layer, row.encoding, row.epochs]
        shown.add_row(
            row.name,
            *("-" if c is None else str(c) for c in cells),
            best,
            score(row.test_metric, row.test_value),
            wall,
            row.date or "-",
            style=None if row.status == "trained" else "dim",
        )
    if table.skipped:
        shown.caption = f"not runs (no config.yaml), skipped: {', '.join(table.skipped)}"
        shown.caption_justify = "left"
    return shown
