"""`rnnlab runs`: every run under a folder in one table, tolerant of folders that are not (yet) runs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from rnnlab.commands.runs import headline_metric, list_runs


@pytest.fixture
def root(tiny_runs: dict[str, Path], tmp_path: Path) -> Path:
    """The two trained runs plus a half-made run, a broken one, and a foreign folder."""
    root = tmp_path / "checkpoints"
    for name, run in tiny_runs.items():
        shutil.copytree(run, root / name)
    (root / "half").mkdir()
    shutil.copy(root / "gru_embed" / "config.yaml", root / "half" / "config.yaml")
    shutil.copytree(root / "gru_embed", root / "broken")
    (root / "broken" / "metrics.json").write_text("{not json")
    (root / "odd").mkdir()
    (root / "odd" / "config.yaml").write_text("data: [not, a, mapping]\n")
    (root / "odd" / "metrics.json").write_text("{}")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a run")
    return root


def column(run: Path, name: str) -> list[float]:
    with (run / "history.csv").open() as f:
        return [float(row[name]) for row in csv.DictReader(f)]


def test_rows_come_from_the_run_files(root: Path) -> None:
    table = list_runs(root)
    rows = {row.name: row for row in table.rows}
    assert sorted(rows) == ["broken", "gru_embed", "half", "odd", "onehot_val"]
    assert table.skipped == ["notes"]
    val = rows["onehot_val"]
    assert (val.dataset, val.layer, val.encoding, val.epochs, val.status) == ("alphabet", "simple_rnn", "onehot", 3, "trained")
    metrics = json.loads((root / "onehot_val" / "metrics.json").read_text())
    assert (val.best_metric, val.best_epoch) == (metrics["monitor"], metrics["best_epoch"]) == ("val_loss", val.best_epoch)
    assert val.best_value == pytest.approx(min(column(root / "onehot_val", "val_loss")), abs=1e-6)
    assert val.wall_time_s == json.loads((root / "onehot_val" / "metrics.json").read_text())["wall_time_s"]
    gru = rows["gru_embed"]
    assert (gru.layer, gru.encoding, gru.epochs, gru.best_metric) == ("gru", "embedding", 2, "loss")
    assert gru.test_metric is None and gru.date is not None
    assert rows["half"].status == "untrained" and rows["half"].epochs is None
    assert rows["broken"].status.startswith("broken") and rows["odd"].status.startswith("broken")


def test_test_metric_is_shown_when_the_run_has_a_test_split(root: Path) -> None:
    metrics_file = root / "onehot_val" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics_file.write_text(json.dumps({**metrics, "test_loss": 0.7, "test_accuracy": 0.875}))
    row = next(r for r in list_runs(root).rows if r.name == "onehot_val")
    assert (row.test_metric, row.test_value) == ("accuracy", 0.875)


def test_headline_prefers_validation_and_the_task_metric() -> None:
    assert headline_metric({"epoch": [0], "loss": [1.0], "mae": [0.5], "val_loss": [1.0], "val_mae": [0.4]}) == "val_mae"
    assert headline_metric({"epoch": [0], "loss": [1.0], "mae": [0.5], "accuracy": [0.2]}) == "accuracy"
    assert headline_metric({"epoch": [0], "loss": [1.0]}) == "loss"


def test_cli_table_and_json(cli, root: Path) -> None:
    shown = cli("runs", str(root))
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    onehot = next(line for line in lines if "onehot_val" in line)
    for cell in ("alphabet", "simple_rnn", "onehot", " 3 ", "val_loss"):
        assert cell in onehot
    assert "untrained" in next(line for line in lines if " half " in line)
    assert "skipped: notes" in shown.stdout
    as_json = json.loads(cli("runs", str(root), "--json").stdout)
    assert as_json == json.loads(json.dumps(list_runs(root).as_dict()))


def test_cli_missing_root_is_one_line(cli, tmp_path: Path) -> None:
    result = cli("runs", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'}: no such folder; runs land in experiment.output_root (default checkpoints/), "
        "so train a config first or pass the folder that holds your runs"
    ]


def test_best_is_the_epoch_train_reported(cli, tiny_runs: dict[str, Path]) -> None:
    """`train` and `runs` name the same best epoch and monitor (the one best.weights.h5 holds)."""
    run = tiny_runs["gru_embed"]
    metrics = json.loads((run / "metrics.json").read_text())
    row = next(r for r in list_runs(run.parent).rows if r.name == "gru_embed")
    assert (row.best_metric, row.best_epoch) == (metrics["monitor"], metrics["best_epoch"])
    assert row.best_value == pytest.approx(metrics["best"][metrics["monitor"]])


def test_eighty_columns_keep_the_name_and_drop_columns_by_priority(cli, root: Path, monkeypatch) -> None:
    long_name = root / "a_rather_long_run_name_for_the_table"
    shutil.copytree(root / "onehot_val", long_name)
    monkeypatch.setenv("COLUMNS", "80")
    shown = cli("runs", str(root))
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    header = next(line for line in lines if line.lstrip().startswith("run "))
    assert header.split()[:3] == ["run", "best", "epochs"] and "date" not in header
    assert any("a_rather_long_run_name_for_the_table" in line for line in lines)
    monkeypatch.setenv("COLUMNS", "200")
    wide = cli("runs", str(root)).stdout
    assert "date" in wide and "encoding" in wide


def test_sort_filter_and_csv(cli, root: Path) -> None:
    rows = list_runs(root).rows
    shown = cli("runs", str(root), "--filter", "status=trained", "--filter", "layer=g*", "--csv")
    assert shown.exit_code == 0, shown.output
    parsed = list(csv.DictReader(shown.stdout.splitlines()))
    assert [r["name"] for r in parsed] == ["gru_embed"]
    assert set(parsed[0]) >= {"name", "dataset", "layer", "epochs", "best_metric", "best_value", "wall_time_s"}
    by_name = json.loads(cli("runs", str(root), "--sort", "-name", "--json").stdout)["runs"]
    assert [r["name"] for r in by_name] == sorted((r.name for r in rows), reverse=True)
    by_epochs = json.loads(cli("runs", str(root), "--sort", "epochs", "--json").stdout)["runs"]
    assert [r["name"] for r in by_epochs][:2] == ["gru_embed", "onehot_val"] or by_epochs[0]["epochs"] == 2
    bad = cli("runs", str(root), "--filter", "colour=red")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "KEY one of name, status" in bad.stderr
    bad = cli("runs", str(root), "--sort", "size")
    assert bad.exit_code == 2 and "sort by one of" in bad.stderr


def test_wall_time_and_epochs_add_up_over_continued_calls(cli, tmp_path: Path) -> None:
    from tests.conftest import shipped_config

    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2})
    assert cli("train", str(config), "--quiet").exit_code == 0
    first = json.loads((tmp_path / "checkpoints" / "alphabet_onehot" / "metrics.json").read_text())
    assert cli("train", str(config), "--quiet").exit_code == 0
    row = list_runs(tmp_path / "checkpoints").rows[0]
    assert row.epochs == 4
    assert row.wall_time_s is not None and row.wall_time_s > first["wall_time_s"]


def test_regression_runs_have_no_encoding(root: Path) -> None:
    task = root / "onehot_val" / "task.json"
    task.write_text(json.dumps({**json.loads(task.read_text()), "vocab_size": None, "features": 2}))
    row = next(r for r in list_runs(root).rows if r.name == "onehot_val")
    assert row.encoding is None
