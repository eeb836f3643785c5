"""Every run under a folder, side by side, read only from the files each run left behind.

Rows come from ``config.yaml``, ``metrics.json`` and ``history.csv`` as plain data (not through the
config schema), so runs of datasets this checkout does not know, and runs that crashed or never
finished, still get a row instead of stopping the listing.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rnnlab.errors import RunError
from rnnlab.run.files import MAXIMISED, NOT_METRICS, RunFiles, best_index, monitor_mode, read_history

SEARCH_DEPTH = 3


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
    baseline_name: str | None = None
    baseline_value: float | None = None
    wall_time_s: float | None = None
    date: str | None = None


@dataclass
class RunTable:
    root: Path
    rows: list[RunRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "runs": [asdict(r) for r in self.rows], "skipped": self.skipped}

    def as_csv(self) -> str:
        """One line per run, every ``RunRow`` field a column (empty where unknown)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(RunRow.__dataclass_fields__), lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
        return out.getvalue()


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


def trained_best(metrics: dict[str, Any]) -> tuple[float, int] | None:
    """The best epoch ``train`` reported (the one ``best.weights.h5`` holds) and its monitor's value:
    the one definition of "best" that ``train``, ``runs`` and the plots share."""
    epoch, value = metrics.get("best_epoch"), (metrics.get("best") or {}).get(metrics.get("monitor"))
    if not isinstance(epoch, int) or not isinstance(value, (int, float)):
        return None
    return round(float(value), 6), epoch


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
    task = read_mapping(files.task, json.loads) if files.task.is_file() else None
    if task is not None and task.get("vocab_size") is None:
        row.encoding = None  # vectors in (regression): no token encoding
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
    best = trained_best(metrics) or best_of(history, headline)
    if best is not None:
        row.best_metric, row.best_value, row.best_epoch = metrics.get("monitor") or headline, *best
    test = test_score(metrics, headline)
    if test is not None:
        row.test_metric, row.test_value = test
    row.baseline_name, row.baseline_value = strongest_baseline(metrics)
    return row


def strongest_baseline(metrics: dict[str, Any]) -> tuple[str | None, float | None]:
    """The first of the run's baselines (a dataset lists the strongest first), as ``train`` saved it."""
    baseline = metrics.get("baseline")
    scores = baseline.get("scores") if isinstance(baseline, dict) else None
    for name, value in (scores or {}).items():
        if isinstance(value, (int, float)):
            return str(name), float(value)
    return None, None


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


SORT_KEYS = ("name", "dataset", "layer", "encoding", "epochs", "best", "test", "wall", "date")
FILTER_KEYS = ("name", "status", "dataset", "layer", "encoding")


def sort_key(key: str) -> Any:
    """``best`` and ``test`` put the better run first (by each run's own metric's direction); runs
    without the value go last."""

    def of(row: RunRow) -> tuple[bool, Any]:
        if key in ("best", "test"):
            metric, value = (row.best_metric, row.best_value) if key == "best" else (row.test_metric, row.test_value)
            if metric is None or value is None:
                return (True, 0.0)
            return (False, -value if monitor_mode(metric) == "max" else value)
        value = {"wall": row.wall_time_s}.get(key, getattr(row, key, None))
        return (value is None, value if value is not None else 0)

    return of


def select_runs(table: RunTable, sort: str | None = None, filters: tuple[str, ...] = ()) -> RunTable:
    """The rows matching every ``KEY=PATTERN`` (shell wildcards allowed), ordered by ``sort``
    (a leading ``-`` reverses it)."""
    rows = list(table.rows)
    for item in filters:
        key, sep, pattern = item.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise RunError(
                f"--filter {item!r}: give KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}, e.g. --filter dataset=imdb"
            )
        rows = [r for r in rows if fnmatch.fnmatchcase(str(getattr(r, key) or ""), pattern)]
    if sort is not None:
        key = sort.removeprefix("-")
        if key not in SORT_KEYS:
            raise RunError(f"--sort {sort!r}: sort by one of {', '.join(SORT_KEYS)} (a leading - reverses it)")
        rows.sort(key=sort_key(key), reverse=sort.startswith("-"))
    return RunTable(table.root, rows, table.skipped)


def score(metric: str | None, value: float | None, epoch: int | None = None) -> str:
    if metric is None or value is None:
        return "-"
    return f"{metric} {value:.4f}" + (f" @{epoch}" if epoch else "")


COLUMNS = ("run", "best", "epochs", "dataset", "layer", "test", "baseline", "wall", "encoding", "date")
"""Every column, most important first: at a narrow width the last ones are left out, the run name never."""


def cells(row: RunRow) -> dict[str, str]:
    best = score(row.best_metric, row.best_value, row.best_epoch) if row.status == "trained" else row.status
    values = {"dataset": row.dataset, "layer": row.layer, "encoding": row.encoding, "epochs": row.epochs}
    return {
        "run": row.name,
        **{k: "-" if v is None else str(v) for k, v in values.items()},
        "best": best,
        "test": score(row.test_metric, row.test_value),
        "baseline": score(row.baseline_name, row.baseline_value),
        "wall": f"{row.wall_time_s:.1f} s" if row.wall_time_s is not None else "-",
        "date": row.date or "-",
    }


def build_table(table: RunTable, columns: list[str]) -> Any:
    from rich import box
    from rich.table import Table

    shown = Table(
        title=f"Runs under {table.root}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    longest = max((len(r.name) for r in table.rows), default=3)
    for column in columns:
        shown.add_column(
            column,
            justify="right" if column in ("epochs", "wall") else "left",
            no_wrap=True,
            min_width=longest if column == "run" else None,
        )
    for row in table.rows:
        values = cells(row)
        shown.add_row(*(values[c] for c in columns), style=None if row.status == "trained" else "dim")
    if table.skipped:
        shown.caption = f"not runs (no config.yaml), skipped: {', '.join(table.skipped)}"
        shown.caption_justify = "left"
    return shown


def rich_table(table: RunTable, width: int | None = None) -> Any:
    """The rows as a rich Table that fits ``width`` columns (None: all columns); the caller prints it.
    Columns go from the end of ``COLUMNS`` until it fits; a column that is ``-`` in every row goes first."""
    from rich.console import Console

    columns = [c for c in COLUMNS if c == "run" or any(cells(r)[c] != "-" for r in table.rows)] if table.rows else list(COLUMNS)
    shown = build_table(table, columns)
    if width is None:
        return shown
    measure = Console(width=10_000)
    while len(columns) > 2 and measure.measure(shown).maximum > width:
        columns.pop()
        shown = build_table(table, columns)
    return shown
