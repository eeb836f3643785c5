"""Time-series forecasting (``dataset: series``) on series generated here, through the real CLI:
the model against the naive baselines, a split no window straddles, invertible transforms, the
same figures from the same seed, and ``predict`` without TensorFlow. The shipped configs on the
real data in ../shared/data are checked at the end (opt-in: skipped when it is absent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab.commands.predict import RunPredictor
from rnnlab.config import load_config
from rnnlab.data import series
from rnnlab.run.files import RunFiles, read_json
from rnnlab.run.opening import open_run
from rnnlab.train.trainer import train
from tests.conftest import PROJECT, SHARED_DATA, shipped_config, write_config

MONTHS = 132


def seasonal_csv(path: Path, rows: int = MONTHS, seed: int = 0) -> Path:
    """Monthly values: a trend, a yearly cycle and a little noise, plus a temperature-like feature."""
    t = np.arange(rows)
    rng = np.random.default_rng(seed)
    y = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, rows)
    temp = 10 + 5 * np.cos(2 * np.pi * t / 12)
    months = np.datetime64("2000-01") + t
    lines = ["month,sales,temp", *(f"{m},{v:.3f},{c:.2f}" for m, v, c in zip(months, y, temp))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def series_config(folder: Path, name: str = "sales", **data: Any) -> Path:
    csv_path = seasonal_csv(folder / "sales.csv")
    options = {
        "dataset": "series",
        "path": str(csv_path),
        "time_column": "month",
        "target_column": "sales",
        "lookback": 12,
        "season": 12,
        "test_fraction": 0.25,
        "transform": "seasonal_diff",
        **data,
    }
    return write_config(
        folder,
        name,
        {
            "experiment": {"seed": 3, "output_root": str(folder / "checkpoints")},
            "data": options,
            "model": {"layer": "gru", "units": 16},
            "training": {"learning_rate": 0.01, "batch_size": 16, "epochs": 40, "validation_split": 0.15},
        },
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    """The generated series, one step ahead, trained once through ``rnnlab train``."""
    from typer.testing import CliRunner

    from rnnlab.cli import app

    folder = tmp_path_factory.mktemp("series")
    config = series_config(folder)
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    return config, folder / "checkpoints" / "sales", result


def test_model_beats_both_naive_baselines_on_the_test_tail(trained: tuple[Path, Path, Any]) -> None:
    _, run, result = trained
    forecast = read_json(RunFiles(run).metrics)["forecast"]
    assert forecast["split"] == "test" and forecast["windows"] == 33 and forecast["horizon"] == 1
    assert (forecast["first_target"], forecast["last_target"]) == ("2008-04", "2010-12")
    model, last, seasonal = (forecast[k]["rmse_all"] for k in ("model", "last_value", "seasonal_naive"))
    assert model < min(seasonal, last) / 2, forecast
    assert len(forecast["model"]["mape"]) == 1 and forecast["model"]["mape"][0] < 5
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("Forecast RMSE on the test tail (33 windows, 1 step(s) ahead): model ")
    assert line.endswith("the model beats both") and f"seasonal naive (12) {seasonal:.4g}" in line
    assert (run / "forecast.png").read_bytes().startswith(b"\x89PNG")


def test_baselines_are_the_textbook_ones_on_the_same_windows(tmp_path: Path) -> None:
    options = load_config(series_config(tmp_path)).data
    assert isinstance(options, series.Options)
    data = series.Series().load(options, seed=0, validation_split=0.0)
    assert isinstance(data, series.SeriesData)

    def truth_as_forecast(x: np.ndarray) -> np.ndarray:
        """What a perfect model outputs: the scaled, transformed true next value of each window."""
        z = series.forward(data.raw, "seasonal_diff", 12)
        scaler = series.Scaler.from_state(data.state["scaler"])
        return ((z[data.starts["test"]] - scaler.center[0]) / scaler.spread[0])[:, None]

    assert data.test is not None
    scored = series.score(options, data, truth_as_forecast, data.test, data.starts["test"])
    y, t = data.raw, data.starts["test"]
    np.testing.assert_allclose(scored.forecasts["model"][:, 0], y[t], rtol=1e-9)
    np.testing.assert_array_equal(scored.forecasts["last_value"][:, 0], y[t - 1])
    np.testing.assert_array_equal(scored.forecasts["seasonal_naive"][:, 0], y[t - 12])
    assert scored.errors()["model"]["rmse_all"] == 0


def test_no_window_straddles_the_split_and_the_test_comes_last(tmp_path: Path) -> None:
    options = load_config(series_config(tmp_path, horizon=3, stride=2, transform="diff")).data
    assert isinstance(options, series.Options)
    data = series.Series().load(options, seed=0, validation_split=0.2)
    assert isinstance(data, series.SeriesData)
    starts, h, lookback = data.starts, 3, 12
    train_rows_used = starts["train"][-1] + h - 1
    assert train_rows_used < starts["validation"][0] and starts["validation"][-1] + h - 1 < starts["test"][0]
    assert data.times[train_rows_used] < data.times[starts["test"][0]], "the last training time precedes the first test time"
    assert np.all(np.diff(starts["train"]) == 2) and np.all(np.diff(starts["test"]) == 1)
    assert data.train.y.shape == (len(starts["train"]), 3) and data.test is not None
    scaler = series.Scaler.from_state(data.state["scaler"])
    a = scaler(series.model_input(series.forward(data.raw, "diff", None), np.zeros((MONTHS, 0))))
    for split, name in ((data.train, "train"), (data.test, "test")):
        for k in (0, -1):
            t = starts[name][k]
            np.testing.assert_allclose(split.x[k, :, 0], a[t - lookback : t, 0], rtol=1e-5)
            np.testing.assert_allclose(split.y[k], a[t : t + h, 0], rtol=1e-5)
    first_test = int(starts["test"][0])
    assert data.train.x.shape[0] > 0 and first_test == MONTHS - round(MONTHS * 0.25)


@pytest.mark.parametrize("transform", ["none", "log", "diff", "log_diff", "seasonal_diff", "log_seasonal_diff"])
def test_transform_and_scale_invert_exactly(transform: str) -> None:
    y = 20 + np.arange(40.0) + 5 * np.sin(np.arange(40.0))
    z = series.forward(y, transform, 3)
    for t in (6, 30):
        back = series.inverse(z[t : t + 7][None], y[:t][None], transform, 3)[0]
        np.testing.assert_allclose(back, y[t : t + 7], rtol=1e-12)
    options = series.Options(scale="minmax")
    scaler = series.fit_scaler(z[3:, None], ["y"], options, "here")
    np.testing.assert_allclose(scaler.target(scaler(z[3:, None])[:, 0]), z[3:])
    assert scaler(z[3:, None]).min() == 0 and scaler(z[3:, None]).max() == 1


def test_missing_values_are_carried_or_interpolated() -> None:
    table = series.read_table("t,y\n0,\n1,2\n2,NA\n3,8\n4,\n", "gaps.csv")
    np.testing.assert_array_equal(series.numbers(table, "y", "ffill"), [2, 2, 2, 8, 8])
    np.testing.assert_array_equal(series.numbers(table, "y", "interpolate"), [2, 2, 5, 8, 8])


def test_same_config_and_seed_give_the_same_figures(trained: tuple[Path, Path, Any], tmp_path: Path) -> None:
    config, run, _ = trained
    again = train(load_config(config, [f"experiment.output_root={tmp_path}"]), verbose=0).run_dir
    assert (again / "forecast.png").read_bytes() == (run / "forecast.png").read_bytes()
    assert read_json(RunFiles(again).metrics)["forecast"] == read_json(RunFiles(run).metrics)["forecast"]


def test_predict_after_the_data_from_stdin_and_as_json(cli, trained: tuple[Path, Path, Any]) -> None:
    _, run, _ = trained
    after_data = cli("predict", str(run))
    assert after_data.exit_code == 0, after_data.output
    month, value = after_data.stdout.strip().split(" -> ")
    assert month == "2011-01" and 80 < float(value) < 100
    record = json.loads(cli("predict", str(run), "--json").stdout)
    assert record["after"] == "2010-12" and record["forecast"][0]["time"] == "2011-01"
    assert record["forecast"][0]["value"] == pytest.approx(float(value), abs=1e-4)

    tail = series.read_csv(run.parent.parent / "sales.csv")
    values = series.numbers(tail, "sales", "error")
    lines = cli("predict", str(run), input="\n".join(f"{v}" for v in values[:60]) + "\n")
    assert lines.exit_code == 0 and lines.stdout.startswith("+1 -> ")
    assert abs(float(lines.stdout.split(" -> ")[1]) - values[60]) < 3
    csv_text = "month,sales\n" + "\n".join(f"{m},{v}" for m, v in zip(tail.column("month")[:60], values[:60]))
    (run.parent.parent / "history.csv").write_text(csv_text, encoding="utf-8")
    from_file = json.loads(cli("predict", str(run), "--input-file", str(run.parent.parent / "history.csv"), "--json").stdout)
    assert from_file["after"] == "2004-12" and from_file["forecast"][0]["time"] == "2005-01"
    assert from_file["forecast"][0]["value"] == pytest.approx(float(lines.stdout.split(" -> ")[1]), abs=1e-4)


PROBE = """
import io, runpy, sys
sys.argv = ["rnnlab", "predict", sys.argv[1], "--json"]
try:
    runpy.run_module("rnnlab", run_name="__main__")
except SystemExit:
    pass
print("TF_LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF_ABSENT")
"""


def test_horizon_and_features_through_the_numpy_engine_without_tensorflow(tmp_path: Path) -> None:
    config = series_config(tmp_path, "multi", horizon=3, feature_columns=["temp"], transform="log_diff")
    run = train(load_config(config, ["training.epochs=3"]), verbose=0).run_dir
    forecast = read_json(RunFiles(run).metrics)["forecast"]
    assert forecast["horizon"] == 3 and len(forecast["model"]["rmse"]) == len(forecast["seasonal_naive"]["mae"]) == 3
    opened = open_run(run)
    assert (opened.spec.features, opened.spec.num_classes) == (2, 3)
    x = np.random.default_rng(0).normal(size=(4, 12, 2)).astype(np.float32)
    by_numpy, by_keras = RunPredictor(opened, "numpy")(x), RunPredictor(opened, "keras")(x)
    assert by_numpy.shape == (4, 3)
    np.testing.assert_allclose(by_numpy, by_keras, atol=1e-5)

    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(run)], input="", capture_output=True, text=True, env=env, timeout=60, check=False
    )
    record = json.loads(out.stdout.splitlines()[0])
    assert [f["time"] for f in record["forecast"]] == ["2011-01", "2011-02", "2011-03"], out.stderr
    assert out.stdout.splitlines()[-1] == "TF_ABSENT"


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "csv_name", "last_value", "seasonal"),
    [("airline_lstm", "airline_passengers.csv", 48.0, 41.9), ("sunspots_gru", "sunspots_yearly.csv", 33.3, 37.9)],
)
def test_shipped_config_beats_both_baselines_on_the_real_data(
    tmp_path: Path, name: str, csv_name: str, last_value: float, seasonal: float
) -> None:
    path = SHARED_DATA / csv_name
    if not path.is_file():
        pytest.skip(f"{path} absent (real-data tests are opt-in)")
    forecast = train(load_config(shipped_config(name, tmp_path, data={"path": str(path)})), verbose=0).metrics["forecast"]
    assert round(forecast["last_value"]["rmse_all"], 1) == last_value
    assert round(forecast["seasonal_naive"]["rmse_all"], 1) == seasonal
    assert forecast["model"]["rmse_all"] < min(last_value, seasonal), forecast["model"]
    if name == "airline_lstm":
        assert forecast["model"]["rmse_all"] < 20
