"""`rnnlab sweep`: one run per grid point (or random draw), resumable, a results table and an overlay plot."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rnnlab.errors import Interrupted
from tests.conftest import shipped_config


def test_grid_trains_every_point_then_writes_the_table_and_plot(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    result = cli("sweep", str(config), "--grid", "model.layer=simple_rnn,gru", "--grid", "model.encoding=onehot,embedding")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "checkpoints" / "alphabet_onehot-sweep"
    names = [
        "layer-simple_rnn__encoding-onehot",
        "layer-simple_rnn__encoding-embedding",
        "layer-gru__encoding-onehot",
        "layer-gru__encoding-embedding",
    ]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(names)
    rows = list(csv.DictReader((folder / "sweep.csv").read_text().splitlines()))
    assert [r["run"] for r in rows] == names
    assert [(r["model.layer"], r["model.encoding"], r["epochs"], r["status"]) for r in rows][-1] == (
        "gru",
        "embedding",
        "1",
        "trained",
    )
    table = (folder / "sweep.md").read_text()
    assert table.splitlines()[0] == "| run | layer | encoding | epochs | best | at best | test | wall |"
    assert "| accuracy " in table.splitlines()[2]
    assert table in result.stdout and (folder / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "[1/4] layer-simple_rnn__encoding-onehot" in result.stderr
    again = cli("sweep", str(config), "--grid", "model.layer=simple_rnn,gru", "--grid", "model.encoding=onehot,embedding")
    assert again.exit_code == 0 and again.stderr.count("(done, skipped)") == 4


def test_an_interrupted_sweep_continues_where_it_stopped(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnlab.train import trainer

    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    real = trainer.train
    calls: list[str] = []

    def stop_on_second(cfg, **kwargs):
        calls.append(cfg.name)
        if len(calls) == 2:
            raise Interrupted("interrupted; run the same command again to resume")
        return real(cfg, **kwargs)

    monkeypatch.setattr(trainer, "train", stop_on_second)
    stopped = cli("sweep", str(config), "--grid", "model.layer=simple_rnn,lstm,gru")
    assert stopped.exit_code == 130
    monkeypatch.setattr(trainer, "train", real)
    resumed = cli("sweep", str(config), "--grid", "model.layer=simple_rnn,lstm,gru")
    assert resumed.exit_code == 0, resumed.output
    assert "[1/3] layer-simple_rnn (done, skipped)" in resumed.stderr and "[2/3] layer-lstm\n" in resumed.stderr
    assert resumed.stdout.count("| 1 | loss ") == 3


def test_random_points_over_ranges(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    args = [
        "sweep",
        str(config),
        "--random",
        "2",
        "--range",
        "training.learning_rate=log:1e-3:1e-1",
        "--range",
        "model.units=2:8",
    ]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "checkpoints" / "alphabet_onehot-sweep" / "sweep.csv").read_text().splitlines()))
    assert len(rows) == 2
    for row in rows:
        assert 1e-3 <= float(row["training.learning_rate"]) <= 1e-1 and 2 <= int(row["model.units"]) <= 8
    assert cli(*args).stderr.count("(done, skipped)") == 2  # same seed, same points


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--grid", "model.layer"], "expected KEY=V1,V2,..."),
        (["--grid", "model.layer=simple_rnn,transformer"], "model.layer"),
        (["--range", "training.learning_rate=0.1:0.01", "--random", "2"], "LOW < HIGH"),
        (["--range", "training.learning_rate=0.001:0.01"], "add --random N"),
        ([], "nothing to sweep"),
    ],
)
def test_bad_sweeps_are_one_line_and_write_nothing(cli, tmp_path: Path, args: list[str], expected: str) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    result = cli("sweep", str(config), *args)
    assert result.exit_code == 2 and expected in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "checkpoints").exists()
