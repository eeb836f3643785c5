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
    assert val.best_metric == "val_accuracy"
    assert val.best_value == pytest.approx(max(column(root / "onehot_val", "val_accuracy")), abs=1e-6)
    assert val.wall_time_s == json.loads((root / "onehot_val" / "metrics.json").read_text())["wall_time_s"]
    gru = rows["gru_embed"]
    assert (gru.layer, gru.encoding, gru.epochs, gru.best_metric) == ("gru", "embedding", 2, "accuracy")
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
    for cell in ("alphabet", "simple_rnn", "onehot", " 3 ", "val_accuracy"):
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
