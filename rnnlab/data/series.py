"""Time-series forecasting from a CSV: the last ``lookback`` values predict the next ``horizon``.

One row per time step, a header row naming the columns: an optional time column (numbers or ISO
dates, strictly increasing), the target to forecast, optional extra input columns. The split is
chronological: training part, then validation (the tail of the training part,
``training.validation_split``), then the test tail (``test_fraction``); no split is shuffled into
another. A training window (history and targets) lies wholly in the training part; a validation
or test window's targets lie wholly in its own part and its history is the values just before
them, as when forecasting for real, so no window ever reads a later part.

The target is transformed (``log``, differences, seasonal differences) and scaled with statistics
of the training part only; both are saved with the run and inverted for every reported number and
prediction. ``report`` scores the test windows in the series' own units beside two naive forecasts
on the same windows (the last value, and the value one season back) and draws ``forecast.png``.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rnnlab import fetch
from rnnlab.data.contract import Baselines, Dataset, DatasetOptions, Prediction, Predictor, Prepared, Report, Split, TaskSpec
from rnnlab.errors import ConfigError, DataError
from rnnlab.runtime import keras

Transform = Literal["none", "log", "diff", "log_diff", "seasonal_diff", "log_seasonal_diff"]
MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
"""Cells that count as a missing value (case-insensitive)."""


class Options(DatasetOptions):
    dataset: Literal["series"] = "series"
    path: str | None = Field(None, description="the CSV file: a header row, then one row per time step (required)")
    time_column: str | None = Field(
        None, description="column of time stamps, numbers or ISO dates, strictly increasing; null = row numbers"
    )
    target_column: str | None = Field(None, description="column to forecast; null = the last column")
    feature_columns: list[str] = Field(default_factory=list, description="extra input columns read beside the target")
    lookback: int = Field(12, ge=1, le=10_000, description="time steps of history each forecast reads")
    horizon: int = Field(1, ge=1, le=1_000, description="values forecast at once, the next horizon steps")
    stride: int = Field(1, ge=1, description="steps between the starts of consecutive training windows")
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0, description="the tail held out for the test, a fraction of the rows")
    season: int | None = Field(
        None, ge=2, description="period in steps (12: monthly data, yearly cycle): the seasonal-naive baseline, seasonal_diff"
    )
    transform: Transform = Field(
        "none",
        description="applied to the target before scaling, inverted for every reported value: log, diff, seasonal_diff, ...",
    )
    scale: Literal["standard", "minmax", "none"] = Field(
        "standard", description="scaling of every column, fitted on the training part only"
    )
    missing: Literal["error", "ffill", "interpolate"] = Field(
        "error", description="an empty or NA cell: refuse it (naming the row), carry the last value, or interpolate"
    )


def lag(transform: str, season: int | None) -> int:
    """How many leading values the differencing uses up (0, 1 or the season)."""
    if "seasonal" in transform:
        return int(season or 0)
    return 1 if "diff" in transform else 0


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        i = self.header.index(name)
        return [row[i].strip() if i < len(row) else "" for row in self.rows]


def read_table(text: str, where: str) -> Table:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise DataError(f"{where}: not a readable CSV ({exc}); write a header row, then one row per time step") from None
    numbered = [(i, row) for i, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise DataError(f"{where}: empty; write a header row (e.g. month,passengers), then one row per time step")
    (_, header), body = numbered[0], numbered[1:]
    return Table(Path(where), [c.strip() for c in header], [r for _, r in body], [i for i, _ in body])


def read_csv(path: Path) -> Table:
    if path.is_dir():
        raise DataError(f"data.path {path}: is a folder; give the .csv file itself")
    if not path.exists():
        raise DataError(f"data.path {path}: file not found; give a .csv file (layout: docs/datasets.md, series)")
    try:
        text = fetch.regular_file_bytes(path, what="CSV file").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    return read_table(text, str(path))


def check_column(table: Table, key: str, name: str) -> None:
    if name not in table.header:
        close = difflib.get_close_matches(name, table.header, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"data.{key} {name!r}: no such column in {table.path} (columns: {', '.join(table.header)}){hint}")


def numbers(table: Table, name: str, missing: str) -> np.ndarray:
    """A column as float64, missing cells handled by ``missing``; a non-number names its line."""
    values = np.empty(len(table.rows))
    for k, (cell, line) in enumerate(zip(table.column(name), table.lines)):
        if cell.lower() in MISSING:
            values[k] = np.nan
            continue
        try:
            values[k] = float(cell)
        except ValueError:
            raise DataError(f"{table.path}, line {line}: {name} {cell!r} is not a number; write a plain number") from None
        if not math.isfinite(values[k]):
            raise DataError(f"{table.path}, line {line}: {name} {cell!r} is not a finite number; write a plain number")
    gaps = np.isnan(values)
    if gaps.all():
        raise DataError(f"{table.path}: column {name!r} has no values; fill it in")
    if gaps.any():
        if missing == "error":
            first = int(np.argmax(gaps))
            raise DataError(
                f"{table.path}, line {table.lines[first]}: no {name} value; fill it in, or set data.missing: ffill or interpolate"
            )
        known = np.flatnonzero(~gaps)
        if missing == "interpolate":
            values = np.interp(np.arange(len(values)), known, values[known])
        else:
            last = np.maximum.accumulate(np.where(gaps, 0, np.arange(len(values))))
            values = np.where(gaps & (np.arange(len(values)) < known[0]), values[known[0]], values[last])
    return values


def columns(table: Table, names: list[str], missing: str, rows: int) -> np.ndarray:
    """Several columns side by side, (rows, len(names))."""
    return np.array([numbers(table, name, missing) for name in names]).T.reshape(rows, len(names))


def parse_times(table: Table, name: str) -> tuple[list[str], str]:
    """The time column's cells and their kind (``number`` or ``date``), checked strictly increasing."""
    cells = table.column(name)
    parsed: list[Any]
    try:
        parsed, kind = [float(c) for c in cells], "number"
    except ValueError:
        parsed, kind = [], "date"
        for cell, line in zip(cells, table.lines):
            try:
                parsed.append(np.datetime64(cell))
            except ValueError:
                raise DataError(
                    f"{table.path}, line {line}: time {cell!r} in column {name!r} is neither a number nor an ISO date "
                    f"(1949-01, 1949-01-31); fix it or set data.time_column: null"
                ) from None
    for k in range(1, len(parsed)):
        if not parsed[k] > parsed[k - 1]:
            now, before = (cells[k], table.lines[k]), (cells[k - 1], table.lines[k - 1])
            if parsed[k] == parsed[k - 1]:
                raise DataError(
                    f"{table.path}, line {now[1]}: time {now[0]!r} repeats line {before[1]}; keep one row per time step"
                )
            raise DataError(
                f"{table.path}, line {now[1]}: time {now[0]!r} comes before {before[0]!r} (line {before[1]}); "
                f"sort the rows by {name}"
            )
    return cells, kind


def future_times(times: list[str], kind: str, count: int) -> list[str]:
    """Labels of the ``count`` steps after ``times``, continuing its last step."""
    if kind == "number" and len(times) >= 2:
        last, step = float(times[-1]), float(times[-1]) - float(times[-2])
        whole = all(float(t).is_integer() for t in times[-2:]) and float(step).is_integer()
        return [str(int(last + k * step)) if whole else f"{last + k * step:g}" for k in range(1, count + 1)]
    if kind == "date" and len(times) >= 2:
        end = np.datetime64(times[-1])
        gap = end - np.datetime64(times[-2])
        return [str(end + k * gap) for k in range(1, count + 1)]
    return [f"+{k}" for k in range(1, count + 1)]


def forward(values: np.ndarray, transform: str, season: int | None) -> np.ndarray:
    """The transformed target: NaN where the differencing has no earlier value."""
    u = np.log(values) if transform.startswith("log") else np.asarray(values, dtype=np.float64)
    d = lag(transform, season)
    if d == 0:
        return u
    z = np.full_like(u, np.nan)
    z[d:] = u[d:] - u[:-d]
    return z


def inverse(z: np.ndarray, history: np.ndarray, transform: str, season: int | None) -> np.ndarray:
    """Raw values from transformed ones: ``z`` (rows, steps) follows the raw ``history`` (rows, ≥ lag)."""
    d = lag(transform, season)
    logged = transform.startswith("log")
    if d == 0:
        u = z
    else:
        known = np.log(history[:, -d:]) if logged else np.asarray(history[:, -d:], dtype=np.float64)
        for h in range(z.shape[1]):
            known = np.concatenate([known, (z[:, h] + known[:, -d])[:, None]], axis=1)
        u = known[:, d:]
    return np.exp(u) if logged else u


@dataclass
class Scaler:
    """Per column (target first, then the features): ``(value - center) / spread``."""

    center: np.ndarray
    spread: np.ndarray

    def __call__(self, a: np.ndarray) -> np.ndarray:
        return (a - self.center) / self.spread

    def target(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.spread[0] + self.center[0]

    def state(self) -> dict[str, list[float]]:
        return {"center": self.center.tolist(), "spread": self.spread.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, list[float]]) -> Scaler:
        return cls(np.array(state["center"]), np.array(state["spread"]))


def fit_scaler(columns: np.ndarray, names: list[str], options: Options, where: str) -> Scaler:
    """Statistics of the training part; a constant column cannot be standardised or min-max scaled."""
    if options.scale == "none":
        return Scaler(np.zeros(columns.shape[1]), np.ones(columns.shape[1]))
    if options.scale == "standard":
        center, spread, what = columns.mean(axis=0), columns.std(axis=0), "standard deviation"
    else:
        center, spread, what = columns.min(axis=0), columns.max(axis=0) - columns.min(axis=0), "range"
    for k, name in enumerate(names):
        if spread[k] <= 1e-12 * max(1.0, abs(float(center[k]))):
            after = f" after transform {options.transform}" if k == 0 and options.transform != "none" else ""
            raise DataError(
                f"{where}: {name!r} is constant ({columns[0, k]:g}) over the training part{after}; scale: {options.scale} "
                f"divides by its {what} 0 (use scale: none, or drop the column)"
            )
    return Scaler(center, spread)


def windows(a: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Every run of ``length`` consecutive rows of ``a``, ``stride`` rows apart, through Keras."""
    batches = keras().utils.timeseries_dataset_from_array(
        a.astype(np.float32), None, sequence_length=length, sequence_stride=stride, shuffle=False, batch_size=4096
    )
    return np.concatenate([np.asarray(b) for b in batches])


@dataclass
class SeriesData(Prepared):
    """``Prepared`` plus what ``report`` needs and ``vocab.json`` must not hold: the whole raw series."""

    raw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    times: list[str] = field(default_factory=list)
    starts: dict[str, np.ndarray] = field(default_factory=dict)
    """Per split, the row of each window's first target."""


def part_sizes(n: int, options: Options, validation_split: float) -> tuple[int, int]:
    """Rows of the validation part and of the test tail."""
    n_test = max(1, round(n * options.test_fraction)) if options.test_fraction > 0 else 0
    n_val = max(1, round((n - n_test) * validation_split)) if validation_split > 0 else 0
    return n_val, n_test


def series_spec(options: Options) -> TaskSpec:
    return TaskSpec(
        kind="regression", timesteps=options.lookback, features=1 + len(options.feature_columns), num_classes=options.horizon
    )


def check_options(options: Options) -> Path:
    if options.path is None:
        raise ConfigError("data.path: dataset series reads a CSV file; set data.path (layout: docs/datasets.md, series)")
    if "seasonal" in options.transform and options.season is None:
        raise ConfigError(f"data.transform {options.transform} needs data.season, the period in steps (e.g. 12 for months)")
    return Path(options.path).expanduser()


def read_series(options: Options) -> tuple[Table, str, np.ndarray, np.ndarray, list[str], str]:
    """The table, the target's name, its values, the feature columns, the time labels and their kind."""
    table = read_csv(check_options(options))
    target = options.target_column or table.header[-1]
    for key, name in [("target_column", target), ("time_column", options.time_column)] + [
        ("feature_columns", f) for f in options.feature_columns
    ]:
        if name is not None:
            check_column(table, key, name)
    if not table.rows:
        raise DataError(f"{table.path}: no rows after the header; add one row per time step")
    if options.time_column is None:
        times, kind = [str(k) for k in range(len(table.rows))], "number"
    else:
        times, kind = parse_times(table, options.time_column)
    values = numbers(table, target, options.missing)
    if options.transform.startswith("log") and (values <= 0).any():
        k = int(np.argmax(values <= 0))
        raise DataError(
            f"{table.path}, line {table.lines[k]}: {target} is {values[k]:g}; transform {options.transform} needs values > 0 "
            f"(use transform: none or diff)"
        )
    features = columns(table, options.feature_columns, options.missing, len(values))
    return table, target, values, features, times, kind


def too_short(where: str, part: str, have: int, need: int, options: Options) -> DataError:
    return DataError(
        f"{where}: the {part} part has {have} usable row(s) but lookback {options.lookback} + horizon {options.horizon} "
        f"needs {need}; use a longer series, a smaller lookback or horizon, or a smaller test_fraction/validation_split"
    )


def model_input(z: np.ndarray, features: np.ndarray) -> np.ndarray:
    return np.concatenate([z[:, None], features], axis=1)


class Series(Dataset[Options]):
    options_model = Options
    whole_input = True

    def spec(self, options: Options) -> TaskSpec | None:
        return series_spec(options)

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        table, target, values, features, times, kind = read_series(options)
        where, n, d, L, H = (
            str(table.path),
            len(values),
            lag(options.transform, options.season),
            options.lookback,
            options.horizon,
        )
        n_val, n_test = part_sizes(n, options, validation_split)
        train_end, val_end = n - n_test - n_val, n - n_test
        if train_end - d < L + H:
            raise too_short(where, "training", max(0, train_end - d), L + H, options)
        for part, size in (("validation", n_val), ("test", n_test)):
            if 0 < size < H:
                raise DataError(
                    f"{where}: the {part} part has {size} row(s), fewer than horizon {H}; use a larger test_fraction/"
                    f"validation_split, or a smaller horizon"
                )
        z = forward(values, options.transform, options.season)
        scaler = fit_scaler(model_input(z, features)[d:train_end], [target, *options.feature_columns], options, where)
        a = scaler(model_input(z, features))
        splits: dict[str, Split] = {}
        starts: dict[str, np.ndarray] = {}
        for name, begin, end, stride in (
            ("train", d + L, train_end, options.stride),
            ("validation", train_end, val_end, 1),
            ("test", val_end, n, 1),
        ):
            if end - begin < H:
                continue
            w = windows(a[begin - L : end], L + H, stride)
            splits[name] = Split(w[:, :L, :], w[:, L:, 0])
            starts[name] = np.arange(begin, end - H + 1, stride)[: len(w)]
        tail = n - L - d
        state = {
            "target": target,
            "features": list(options.feature_columns),
            "time_column": options.time_column,
            "time_kind": kind,
            "transform": options.transform,
            "season": options.season,
            "lookback": L,
            "horizon": H,
            "scaler": scaler.state(),
            "tail": {"times": times[tail:], "values": values[tail:].tolist(), "features": features[tail:].tolist()},
        }
        return SeriesData(
            spec=series_spec(options),
            train=splits["train"],
            validation=splits.get("validation"),
            test=splits.get("test"),
            state=state,
            raw=values,
            times=times,
            starts=starts,
        )

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        return [forecast_after(text, state, options, model) for text in texts]

    def examples(self, options: Options, state: dict[str, Any], split: str) -> Split:
        raise DataError(
            "dataset 'series' scores its test tail at the end of `rnnlab train`: see metrics.json (forecast) and forecast.png"
        )

    def report(self, options: Options, data: Prepared, model: Predictor) -> Report:
        if not isinstance(data, SeriesData):
            return Report()
        found = scored_split(data)
        if found is None:
            return Report(lines=["Forecast: no test or validation part to score (set data.test_fraction)"])
        split_name, split = found
        scored = score(options, data, model, split, data.starts[split_name])
        return Report(
            metrics=scored.metrics(split_name),
            lines=[scored.line(split_name)],
            figures={"forecast.png": scored.figure(options, split_name)},
        )

    def baselines(self, options: Options, data: Prepared) -> Baselines | None:
        """The report's naive forecasts (last value, seasonal naive) on the split it scores, in the
        series' units: RMSE beside the model's ``test_rmse``, MAE in the details."""
        found = scored_split(data) if isinstance(data, SeriesData) else None
        if found is None:
            return None
        assert isinstance(data, SeriesData)
        split_name, _ = found
        starts = data.starts[split_name]
        truth = targets(data, starts)
        scores = {name: errors(values, truth) for name, values in naive_forecasts(data, starts).items()}
        rmse = {name: float(s["rmse_all"]) for name, s in scores.items()}
        return Baselines(split_name, "rmse", rmse, {f"{name}_mae": s["mae_all"] for name, s in scores.items()})


def scored_split(data: SeriesData) -> tuple[str, Split] | None:
    """The part a series run is scored on: its test tail, else its validation tail."""
    if data.test is not None:
        return "test", data.test
    if data.validation is not None:
        return "validation", data.validation
    return None


def history_arrays(text: str, state: dict[str, Any], options: Options) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """A history given to ``predict``: raw target values, feature rows, time labels and their kind.
    Empty: the end of the training data (saved in ``vocab.json``)."""
    if not text.strip():
        tail = state["tail"]
        features = np.array(tail["features"], dtype=np.float64).reshape(len(tail["values"]), -1)
        return np.array(tail["values"]), features, tail["times"], state["time_kind"]
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and not all(_is_number(c) for c in re.split(r"[,;\s]+", lines[0].strip()) if c):
        table = read_table(text, "input")
        table.path = Path("input")
        wanted = [state["target"], *state["features"]]
        if not set(wanted) <= set(table.header):
            raise DataError(
                f"input: the header row {','.join(table.header)!r} lacks {', '.join(sorted(set(wanted) - set(table.header)))}; "
                f"start a CSV with a header row naming {', '.join([state['time_column'] or 'time', *wanted])}, or give one value per line"
            )
        values = numbers(table, state["target"], options.missing)
        features = columns(table, state["features"], options.missing, len(values))
        column = state["time_column"]
        if column and column in table.header:
            labels, kind = parse_times(table, column)
            return values, features, labels, kind
        return values, features, [], "none"
    if state["features"]:
        raise DataError(
            f"input: this run also reads {', '.join(state['features'])}; give a CSV with a header row and columns "
            f"{', '.join([state['target'], *state['features']])}"
        )
    cells = [c for c in re.split(r"[,;\s]+", text.strip()) if c]
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:
        bad = next(c for c in cells if not _is_number(c))
        raise DataError(f"input: {bad!r} is not a number; give one value per line (or a CSV with a header row)") from None
    if not np.isfinite(values).all():
        raise DataError("input: inf or nan among the values; give finite numbers")
    return values, np.zeros((len(values), 0)), [], "none"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def forecast_after(text: str, state: dict[str, Any], options: Options, model: Predictor) -> Prediction:
    transform, season, L, H = state["transform"], state["season"], state["lookback"], state["horizon"]
    d = lag(transform, season)
    values, features, times, kind = history_arrays(text, state, options)
    if len(values) < L + d:
        plus = f" + {d} for transform {transform}" if d else ""
        raise DataError(
            f"input: {len(values)} value(s) but this run reads the last {L + d} (lookback {L}{plus}); give at least {L + d}"
        )
    if transform.startswith("log") and (values <= 0).any():
        raise DataError(
            f"input: value {values[values <= 0][0]:g} is not > 0; this run's transform {transform} needs positive values"
        )
    values, features = values[-(L + d) :], features[-(L + d) :]
    scaler = Scaler.from_state(state["scaler"])
    x = scaler(model_input(forward(values, transform, season), features))[-L:]
    out = np.asarray(model(x[None].astype(np.float32)), dtype=np.float64).reshape(1, H)
    forecast = inverse(scaler.target(out), values[None], transform, season)[0]
    labels = future_times(times, kind, H)
    record = {
        "after": times[-1] if times else None,
        "history": len(values),
        "forecast": [{"time": t, "value": round(float(v), 6)} for t, v in zip(labels, forecast)],
    }
    return Prediction(line="\n".join(f"{t} -> {v:.4f}" for t, v in zip(labels, forecast)), record=record)


def errors(predicted: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and MAPE (%) for each step of the horizon, and RMSE/MAE over all steps; MAPE is None
    where a true value is 0."""
    e = predicted - truth
    mape = None if (truth == 0).any() else [round(float(v), 4) for v in 100 * np.mean(np.abs(e / truth), axis=0)]
    return {
        "rmse": [round(float(v), 4) for v in np.sqrt(np.mean(e**2, axis=0))],
        "mae": [round(float(v), 4) for v in np.mean(np.abs(e), axis=0)],
        "mape": mape,
        "rmse_all": round(float(np.sqrt(np.mean(e**2))), 4),
        "mae_all": round(float(np.mean(np.abs(e))), 4),
    }


@dataclass
class Scored:
    """A split's windows forecast by the model and the baselines, in the series' units."""

    data: SeriesData
    starts: np.ndarray
    truth: np.ndarray
    forecasts: dict[str, np.ndarray]
    """``model``, ``last_value`` and, with a season, ``seasonal_naive``: (windows, horizon) each."""

    def errors(self) -> dict[str, dict[str, Any]]:
        return {name: errors(values, self.truth) for name, values in self.forecasts.items()}

    def best_baseline(self) -> str:
        scores = self.errors()
        return min((name for name in scores if name != "model"), key=lambda name: scores[name]["rmse_all"])

    def metrics(self, split: str) -> dict[str, Any]:
        scores = self.errors()
        t = self.data.times
        out: dict[str, Any] = {
            "forecast": {
                "split": split,
                "windows": len(self.starts),
                "horizon": self.truth.shape[1],
                "first_target": t[int(self.starts[0])],
                "last_target": t[int(self.starts[-1]) + self.truth.shape[1] - 1],
                **scores,
            }
        }
        if split == "test":
            out.update({"test_rmse": scores["model"]["rmse_all"], "test_mae": scores["model"]["mae_all"]})
        return out

    def line(self, split: str) -> str:
        scores = self.errors()
        h = self.truth.shape[1]
        model = scores["model"]["rmse_all"]
        named = {"last_value": "last value", "seasonal_naive": f"seasonal naive ({self.data.state['season']})"}
        baselines = ", ".join(f"{named[k]} {v['rmse_all']:.4g}" for k, v in scores.items() if k != "model")
        beaten = [named[k] for k, v in scores.items() if k != "model" and model < v["rmse_all"]]
        if len(beaten) == len(scores) - 1:
            verdict = "beats both" if len(beaten) == 2 else "beats it"
        else:
            verdict = f"beats {beaten[0]} only" if beaten else "beats no baseline"
        mae = scores["model"]["mae_all"]
        mape = scores["model"]["mape"]
        extra = f", MAPE {float(np.mean(mape)):.2f}%" if mape is not None else ""
        return (
            f"Forecast RMSE on the {split} tail ({len(self.starts)} windows, {h} step(s) ahead): model {model:.4g} "
            f"(MAE {mae:.4g}{extra}) vs {baselines}; the model {verdict}"
        )

    def figure(self, options: Options, split: str) -> Any:
        from matplotlib.figure import Figure

        state, raw, times, h = self.data.state, self.data.raw, self.data.times, self.truth.shape[1]
        first, last = int(self.starts[0]), int(self.starts[-1]) + h - 1
        context = max(0, first - 2 * options.lookback)
        fig = Figure(figsize=(9, 4.2))
        ax = fig.add_subplot()
        ax.plot(range(context, first + 1), raw[context : first + 1], color="0.6", label="history")
        ax.plot(range(first, last + 1), raw[first : last + 1], color="black", label="truth")
        ax.plot(self.starts, self.forecasts["model"][:, 0], color="tab:blue", marker=".", label="model, 1 step ahead")
        if h > 1:
            ax.plot(self.starts + h - 1, self.forecasts["model"][:, -1], color="tab:green", label=f"model, {h} steps ahead")
        best = self.best_baseline()
        label = "last value" if best == "last_value" else f"seasonal naive ({state['season']})"
        ax.plot(self.starts, self.forecasts[best][:, 0], color="tab:orange", linestyle="--", label=f"{label}, 1 step ahead")
        ticks = np.unique(np.linspace(context, last, num=min(8, last - context + 1)).round().astype(int))
        ax.set_xticks(ticks, [times[k] for k in ticks], rotation=30, ha="right")
        ax.set_xlabel(state["time_column"] or "row")
        ax.set_ylabel(state["target"])
        scores = self.errors()
        ax.set_title(
            f"{state['target']}: forecasts of the {split} tail (RMSE model {scores['model']['rmse_all']:.4g}, "
            f"{label} {scores[best]['rmse_all']:.4g})"
        )
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        return fig


def score(options: Options, data: SeriesData, model: Predictor, split: Split, starts: np.ndarray) -> Scored:
    state, raw = data.state, data.raw
    transform, season, h = state["transform"], state["season"], state["horizon"]
    d = lag(transform, season)
    scaler = Scaler.from_state(state["scaler"])
    truth = targets(data, starts)
    out = np.asarray(model(split.x), dtype=np.float64).reshape(len(split), h)
    history = raw[starts[:, None] + np.arange(-max(d, 1), 0)]
    forecasts = {"model": inverse(scaler.target(out), history, transform, season), **naive_forecasts(data, starts)}
    return Scored(data, starts, truth, forecasts)


def targets(data: SeriesData, starts: np.ndarray) -> np.ndarray:
    """The true values each window forecasts, (windows, horizon), in the series' units."""
    return data.raw[starts[:, None] + np.arange(data.state["horizon"])]


def naive_forecasts(data: SeriesData, starts: np.ndarray) -> dict[str, np.ndarray]:
    """``last_value`` and, with a season whose history reaches back far enough, ``seasonal_naive``:
    (windows, horizon) forecasts in the series' units that never look at a model."""
    raw, season, h = data.raw, data.state["season"], data.state["horizon"]
    steps = np.arange(h)
    forecasts = {"last_value": np.repeat(raw[starts - 1][:, None], h, axis=1)}
    if season is not None:
        back = starts[:, None] + steps - season * (steps // season + 1)
        if back.min() >= 0:
            forecasts["seasonal_naive"] = raw[back]
    return forecasts
