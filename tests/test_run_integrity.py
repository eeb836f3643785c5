"""The run folder as a database: the manifest vouches for every file, a continued run keeps its id,
temporaries a killed process left are cleaned, the lock survives a full disk and a race, and a
checkpoint is only ever replaced by finite weights."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from rnnlab.run.files import RunFiles, file_digest
from tests.conftest import PROJECT

CONFIG = {"data": {"dataset": "alphabet"}, "model": {"units": 3}, "training": {"epochs": 1}}


def write_config(tmp_path: Path, **training: object) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "training": {**CONFIG["training"], **training}}))
    return path


def test_the_manifest_vouches_for_every_file_and_a_continued_run_keeps_its_id(cli, tmp_path: Path) -> None:
    write_config(tmp_path)
    assert cli("train", "good.yaml").exit_code == 0
    files = RunFiles(tmp_path / "checkpoints/good")
    manifest = json.loads(files.manifest.read_text())
    listed = set(manifest["files"])
    assert {"config.yaml", "vocab.json", "task.json", "model.keras", "weights.npz", "history.csv", "metrics.json"} <= listed
    assert all(manifest["files"][name] == file_digest(files.root / name) for name in listed)
    run_id = manifest["run_id"]
    assert json.loads(files.metrics.read_text())["run_id"] == run_id

    assert cli("train", "good.yaml").exit_code == 0  # continues for one more epoch
    again = json.loads(files.manifest.read_text())
    assert again["run_id"] == run_id
    assert json.loads(files.metrics.read_text())["epochs"] == 2
    assert not files.backup.exists()


def test_predict_answers_from_the_finished_model_while_a_continued_training_runs(cli, tmp_path: Path) -> None:
    from rnnlab.train.trainer import begin_training

    write_config(tmp_path)
    assert cli("train", "good.yaml").exit_code == 0
    files = RunFiles(tmp_path / "checkpoints/good")
    before = cli("predict", "good.yaml", "-p", "a").stdout
    run_id = json.loads(files.manifest.read_text())["run_id"]
    assert begin_training(files, run_id) == run_id
    with files.history.open("a") as f:
        f.write("1,0.2,0.001,1.5\n")  # the continued training's first row
    assert not files.manifest.exists() and files.base_manifest.is_file()
    assert cli("predict", "good.yaml", "-p", "a").stdout == before
    files.history.write_text("epoch,loss\n")  # rows the finished run wrote, lost
    result = cli("predict", "good.yaml", "-p", "a")
    assert result.exit_code == 2 and "no longer starts with the rows the finished run wrote" in result.stderr


def test_temporaries_left_by_a_killed_process_are_removed_by_the_next_train(cli, tmp_path: Path) -> None:
    write_config(tmp_path)
    assert cli("train", "good.yaml").exit_code == 0
    files = RunFiles(tmp_path / "checkpoints/good")
    left = [files.root / ".best-k2j4x_9q.weights.h5", files.root / ".history-abcdefgh.csv"]
    for path in left:
        path.write_bytes(b"half a file")
    keep = files.root / "notes-by-me.txt"
    keep.write_text("mine\n")
    assert cli("train", "good.yaml").exit_code == 0
    assert not any(path.exists() for path in left)
    assert keep.read_text() == "mine\n"


def test_a_full_disk_while_taking_the_lock_is_one_line_and_leaves_nothing(cli, tmp_path: Path, monkeypatch) -> None:
    import rnnlab.train.trainer as trainer

    write_config(tmp_path)

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trainer.os, "write", full)
    result = cli("train", "good.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {Path('checkpoints/good/.lock')}: cannot take the run's lock (No space left on device); free some disk space"
    ]
    assert not (tmp_path / "checkpoints").exists(), "the failed run left its folders behind"


def test_two_trainers_racing_on_a_stale_lock_end_with_one_run(tmp_path: Path) -> None:
    write_config(tmp_path, epochs=2)
    run = tmp_path / "checkpoints/good"
    run.mkdir(parents=True)
    (run / ".lock").write_text("999999999@" + os.uname().nodename)  # a process long gone
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "RNNLAB_EPOCH_DELAY": "1.5"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "rnnlab", "train", "good.yaml", "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in racers]  # type: ignore[union-attr]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "another `rnnlab train`" in loser and "Traceback" not in loser
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    assert not (run / ".lock").exists()


def test_the_best_checkpoint_is_never_replaced_by_non_finite_weights(tmp_path: Path) -> None:
    from rnnlab.runtime import keras
    from rnnlab.train.callbacks import BestCheckpoint

    k = keras()
    model = k.Sequential([k.Input((2,)), k.layers.Dense(1)])
    best = tmp_path / "best.weights.h5"
    checkpoint = BestCheckpoint(best, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 1.0})
    saved = best.read_bytes()
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    checkpoint.on_epoch_end(1, {"loss": 0.5})  # a finite loss reported over NaN weights
    assert best.read_bytes() == saved
    model.load_weights(best)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_a_run_saved_before_a_model_key_existed_still_matches_its_config(tmp_path: Path) -> None:
    """A key rnnlab added later (``model.pooling``) is missing from an older run's config.yaml; it
    counts as its default, so the run continues, while a real change is still refused."""
    import pytest

    from rnnlab.config import load_config
    from rnnlab.errors import RunError
    from rnnlab.run.opening import check_same_model

    source = tmp_path / "alphabet.yaml"
    source.write_text(yaml.safe_dump({"data": {"dataset": "alphabet"}, "model": {"units": 3}}), encoding="utf-8")
    config = load_config(source)
    saved = config.model_dump(mode="json")
    for key in ("pooling", "output_dropout", "output_bias", "embedding_dropout"):
        del saved["model"][key]
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(saved), encoding="utf-8")
    check_same_model(RunFiles(run), config)
    with pytest.raises(RunError, match="trained with model.pooling='last' but the config says 'max'"):
        check_same_model(RunFiles(run), load_config(source, ["model.pooling=max"]))
    with pytest.raises(RunError, match="trained with model.units=3 but the config says 4"):
        check_same_model(RunFiles(run), load_config(source, ["model.units=4"]))
