"""``rnnlab sweep``: one run per point of a grid (or of N random draws), one after another, then a
results table (Markdown and CSV) and an overlay plot.

Every point is the config plus ``--set`` overrides, trained under
``<output_root>/<name>-sweep/<key>-<value>__<key>-<value>...``; a point whose run has a ``metrics.json``
is done and skipped, so an interrupted sweep continues where it stopped (the interrupted point
resumes from its backup, like ``rnnlab train``). The only command besides ``train`` that trains,
so the only one that imports the trainer.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rnnlab import atomic
from rnnlab.commands.runs import RunRow, safe_row, score
from rnnlab.config import Config, load_target
from rnnlab.errors import ConfigError
from rnnlab.run.files import MAXIMISED, RunFiles

RANGE = re.compile(r"^(?:(log):)?([^:]+):([^:]+)$")


@dataclass
class Axis:
    key: str
    values: list[Any] = field(default_factory=list)
    """Grid choices; empty for a range."""
    low: float | None = None
    high: float | None = None
    log: bool = False

    def draw(self, rng: random.Random) -> Any:
        if self.values:
            return rng.choice(self.values)
        assert self.low is not None and self.high is not None
        if isinstance(self.low, int) and isinstance(self.high, int) and not self.log:
            return rng.randint(self.low, self.high)
        if self.log:
            return float(f"{math.exp(rng.uniform(math.log(self.low), math.log(self.high))):.4g}")
        return float(f"{rng.uniform(self.low, self.high):.4g}")


@dataclass
class Point:
    name: str
    values: dict[str, Any]
    config: Config
    row: RunRow | None = None
    skipped: bool = False
    at_best: str = "-"
    """The accuracy-like metric at the best epoch (``metrics.json``), e.g. ``accuracy 1.0000``."""

    @property
    def overrides(self) -> list[str]:
        return [
            f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
            for k, v in self.values.items()
        ]


@dataclass
class Sweep:
    folder: Path
    points: list[Point]
    table_md: Path
    table_csv: Path
    plot: Path | None = None

    def markdown(self) -> str:
        keys = list(self.points[0].values) if self.points else []
        header = ["run", *(k.rsplit(".", 1)[-1] for k in keys), "epochs", "best", "at best", "test", "wall"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p in self.points:
            r = p.row or RunRow(p.name, str(p.config.run_dir), status="not run")
            best = score(r.best_metric, r.best_value, r.best_epoch) if r.status == "trained" else r.status
            wall = f"{r.wall_time_s:.1f} s" if r.wall_time_s is not None else "-"
            cells = [
                p.name,
                *(str(p.values[k]) for k in keys),
                str(r.epochs or "-"),
                best,
                p.at_best,
                score(r.test_metric, r.test_value),
                wall,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        keys = list(self.points[0].values) if self.points else []
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        fields = ["epochs", "best_metric", "best_value", "best_epoch", "test_metric", "test_value", "wall_time_s", "status"]
        writer.writerow(["run", *keys, *fields])
        for p in self.points:
            r = p.row or RunRow(p.name, "", status="not run")
            writer.writerow(
                [p.name, *(p.values[k] for k in keys), *("" if getattr(r, f) is None else getattr(r, f) for f in fields)]
            )
        return out.getvalue()


def at_best(files: RunFiles) -> str:
    """The accuracy-like metric (validation first) at the epoch ``train`` called best."""
    try:
        best = json.loads(files.metrics.read_text(encoding="utf-8")).get("best") or {}
    except (OSError, ValueError):
        return "-"
    names = [k for k in best if k.removeprefix("val_") in MAXIMISED and isinstance(best[k], (int, float))]
    names.sort(key=lambda k: not k.startswith("val_"))
    return score(names[0], best[names[0]]) if names else "-"


def typed(text: str) -> Any:
    """A value as YAML types it, except that ``1e-3`` is a number (YAML 1.1 wants ``1.0e-3``)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_grid(expression: str) -> Axis:
    key, sep, values = expression.partition("=")
    choices = [typed(v.strip()) for v in values.split(",") if v.strip()]
    if not sep or not key.strip() or not choices:
        raise ConfigError(f"--grid {expression!r}: expected KEY=V1,V2,..., e.g. --grid model.layer=simple_rnn,lstm,gru")
    return Axis(key.strip(), choices)


def parse_range(expression: str) -> Axis:
    key, sep, spec = expression.partition("=")
    match = RANGE.match(spec.strip())
    low, high = (typed(match.group(2)), typed(match.group(3))) if match else (None, None)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not sep or not match or not numbers or low >= high or (match.group(1) and low <= 0):  # type: ignore[operator]
        raise ConfigError(
            f"--range {expression!r}: expected KEY=LOW:HIGH (or KEY=log:LOW:HIGH, LOW > 0), LOW < HIGH, "
            "e.g. --range training.learning_rate=log:1e-4:1e-1"
        )
    return Axis(key.strip(), low=low, high=high, log=bool(match.group(1)))


def point_name(values: dict[str, Any]) -> str:
    """``layer-lstm__encoding-embedding``: a valid run name read from the values (the sweep's
    folder names the config)."""
    parts = [f"{key.rsplit('.', 1)[-1]}-{value}" for key, value in values.items()]
    return re.sub(r"[^A-Za-z0-9_.-]", "-", "__".join(parts))


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: a config (or run folder), ``--grid``/``--range`` expressions, ``--set``
    overrides for every point, and ``--random N`` (None: the whole grid) with its seed."""

    target: str | Path
    grid: Sequence[str] = ()
    ranges: Sequence[str] = ()
    overrides: Sequence[str] = ()
    random_points: int | None = None
    seed: int = 0


def plan(spec: SweepSpec) -> tuple[Path, list[Point]]:
    """Every point's config, validated before anything is trained (a bad value is one line, nothing written)."""
    target, overrides, random_points = spec.target, spec.overrides, spec.random_points
    axes = [parse_grid(g) for g in spec.grid] + [parse_range(r) for r in spec.ranges]
    if not axes:
        raise ConfigError("nothing to sweep; give --grid KEY=V1,V2 (and/or --range KEY=LOW:HIGH with --random N)")
    if len({a.key for a in axes}) < len(axes):
        raise ConfigError("a key is swept twice; give each --grid/--range key once")
    if any(not a.values for a in axes) and random_points is None:
        raise ConfigError("--range draws values at random; add --random N for N points")
    base = load_target(target, list(overrides))
    keys = [a.key for a in axes]
    if random_points is None:
        combos = [dict(zip(keys, values)) for values in itertools.product(*(a.values for a in axes))]
    else:
        rng = random.Random(spec.seed)
        combos = []
        for _ in range(random_points):
            combos.append({a.key: a.draw(rng) for a in axes})
    folder = Path(base.experiment.output_root) / f"{base.name}-sweep"
    points: list[Point] = []
    for values in combos:
        name = point_name(values)
        if any(p.name == name for p in points):
            continue
        sets = [*overrides, *Point(name, values, base).overrides]
        sets += [f"experiment.output_root={folder.as_posix()}", f"experiment.name={name}"]
        points.append(Point(name, values, load_target(target, sets)))
    return folder, points


def run_sweep(
    spec: SweepSpec,
    *,
    metric: list[str] | None = None,
    announce: Callable[[int, int, Point], None] = lambda i, n, p: None,
    train_kwargs: dict[str, Any] | None = None,
) -> Sweep:
    """Train every point not done yet, in order, then write ``sweep.md``, ``sweep.csv`` and ``sweep.png``."""
    from rnnlab.run.plots import plot_runs
    from rnnlab.train.trainer import train

    folder, points = plan(spec)
    for i, point in enumerate(points, 1):
        files = RunFiles(point.config.run_dir)
        point.skipped = files.metrics.is_file()
        announce(i, len(points), point)
        if not point.skipped:
            train(point.config, **(train_kwargs or {"verbose": 0}))
        point.row = safe_row(files.root, folder)
        point.at_best = at_best(files)
    sweep = Sweep(folder, points, folder / "sweep.md", folder / "sweep.csv")
    atomic.write_text(sweep.table_md, sweep.markdown())
    atomic.write_text(sweep.table_csv, sweep.csv())
    trained = [p.config.run_dir for p in points if p.row is not None and p.row.status == "trained"]
    if trained:
        target_png = folder / "sweep.png"
        sweep.plot = plot_runs(trained, metric, target_png).path
    return sweep
