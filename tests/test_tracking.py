"""`training.tracking: mlflow` against a real local MLflow store (skipped without the mlflow extra)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import shipped_config


def test_params_metrics_and_files_reach_a_local_store(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 3, "tracking": "mlflow"})
    result = cli("train", str(config), "-q")
    assert result.exit_code == 0, result.output
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("alphabet_onehot")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "alphabet_onehot" and run.info.status == "FINISHED"
    assert run.data.params["model.layer"] == "simple_rnn" and run.data.params["training.epochs"] == "3"
    losses = client.get_metric_history(run.info.run_id, "loss")
    with (tmp_path / "checkpoints" / "alphabet_onehot" / "history.csv").open() as f:
        logged = [float(row["loss"]) for row in csv.DictReader(f)]
    assert [m.step for m in losses] == [1, 2, 3]
    assert [m.value for m in losses] == pytest.approx(logged, rel=1e-6)
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "history.csv", "metrics.json", "curves.png"} <= files


def test_tracking_without_mlflow_is_one_line(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1, "tracking": "mlflow"})
    result = cli("train", str(config))
    assert result.exit_code == 2 and "pip install -e '.[mlflow]'" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "checkpoints").exists()
