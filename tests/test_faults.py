"""Faults a long run must survive: Ctrl-C/SIGTERM, kill -9, NaN loss, a second trainer, a full disk."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnlab.config import load_config
from rnnlab.errors import RunError
from rnnlab.run.files import RunFiles
from rnnlab.train.trainer import train
from tests.conftest import PROJECT, shipped_config

EPOCHS = 6


def resumable_config(folder: Path) -> Path:
    """The lesson's model with dropout, so resuming must also reproduce the dropout masks."""
    return shipped_config("alphabet_onehot", folder, model={"dropout": 0.2}, training={"epochs": EPOCHS})


def history_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [row for row in csv.DictReader(f) if row.get("loss")]


def start_training(config: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "RNNLAB_EPOCH_DELAY": "0.7"}
    return subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "train", str(config)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_epochs(process: subprocess.Popen[str], history: Path, epochs: int) -> None:
    """Watch history.csv (written at each epoch's end) rather than sleeping blindly."""
    deadline = time.monotonic() + 180
    while len(history_rows(history)) < epochs:
        assert process.poll() is None, f"training ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "training never reached the epoch"
        time.sleep(0.05)


def signal_after_epochs(config: Path, cwd: Path, history: Path, epochs: int, sig: int) -> subprocess.Popen[str]:
    """`rnnlab train` in a real process, sent ``sig`` once ``epochs`` epochs are in ``history``; returns it ended."""
    process = start_training(config, cwd)
    try:
        wait_for_epochs(process, history, epochs)
        process.send_signal(sig)
        process.communicate(timeout=120)
    finally:
        process.kill()
    return process


def reference_metrics(folder: Path) -> dict:
    config = load_config(resumable_config(folder), ["experiment.name=reference"])
    return train(config, verbose=0).metrics


def assert_same_as_reference(files: RunFiles, resumed: dict, reference: dict) -> None:
    assert resumed["epochs"] == reference["epochs"] == EPOCHS
    assert resumed["best_epoch"] == reference["best_epoch"]
    for key, value in reference["final"].items():
        assert resumed["final"][key] == pytest.approx(value, abs=1e-5), key
    reference_rows = history_rows(files.root.parent / "reference" / "history.csv")
    rows = history_rows(files.history)
    assert [r["epoch"] for r in rows] == [str(e) for e in range(EPOCHS)]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], [float(r["loss"]) for r in reference_rows], atol=1e-5)
    assert not files.backup.exists(), "a finished run keeps no backup"


def test_sigterm_saves_the_epoch_in_progress_and_a_rerun_resumes_identically(cli, tmp_path: Path) -> None:
    config = resumable_config(tmp_path)
    files = RunFiles(load_config(config).run_dir.absolute())
    process = start_training(config, tmp_path)
    try:
        wait_for_epochs(process, files.history, 1)
        second = cli("train", str(config))
        assert second.exit_code == 2 and "another `rnnlab train`" in second.stderr, second.stderr
        wait_for_epochs(process, files.history, 2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: training of 'alphabet_onehot' interrupted; epochs 1-") and "to resume" in last
    saved = json.loads((files.backup / "state.json").read_text())["epoch"]
    assert saved >= 2 and len(history_rows(files.history)) == saved, "the epoch in progress was finished and saved"
    assert not files.lock.exists()

    resumed = train(load_config(config), verbose=0)
    assert resumed.metrics["resumed_at_epoch"] == saved and resumed.metrics["epochs_this_run"] == EPOCHS - saved
    assert_same_as_reference(files, resumed.metrics, reference_metrics(tmp_path))


def test_kill_9_mid_epoch_loses_at_most_that_epoch(tmp_path: Path) -> None:
    import h5py

    config = resumable_config(tmp_path)
    files = RunFiles(load_config(config).run_dir.absolute())
    process = signal_after_epochs(config, tmp_path, files.history, 2, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    logged = len(history_rows(files.history))
    saved = json.loads((files.backup / "state.json").read_text())["epoch"]
    assert saved >= logged - 1 >= 1, "only the epoch in progress (maybe logged, not yet backed up) is lost"
    with h5py.File(files.best_weights, "r") as best:
        assert "layers" in best
    assert json.loads(files.vocab.read_text()) == {"vocab": list("abcde")}
    assert files.lock.exists(), "kill -9 leaves the lock; the next train must take it over"

    resumed = train(load_config(config), verbose=0)
    assert resumed.metrics["resumed_at_epoch"] == saved
    assert_same_as_reference(files, resumed.metrics, reference_metrics(tmp_path))


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    files = RunFiles(load_config(config).run_dir)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    files.root.mkdir(parents=True)
    files.lock.write_text(f"{dead.pid}@{socket.gethostname()}")
    assert train(load_config(config), verbose=0).metrics["epochs"] == 1
    assert not files.lock.exists()


def refuse_non_json(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def test_json_out_is_strict_json() -> None:
    from rnnlab.atomic import json_text

    text = json_text({"loss": float("nan"), "scores": [float("inf"), 0.5, -float("inf")], "name": "分开"})
    assert text == '{"loss": null, "scores": [null, 0.5, null], "name": "分开"}'
    assert json.loads(text, parse_constant=refuse_non_json)["scores"] == [None, 0.5, None]


def test_nan_loss_stops_keeps_the_best_checkpoint_and_says_where(cli, tmp_path: Path) -> None:
    from rnnlab.runtime import keras

    config = shipped_config(
        "alphabet_onehot",
        tmp_path,
        model={"activation": "relu"},
        training={"optimizer": "sgd", "learning_rate": 1e30, "epochs": 10},
    )
    result = cli("train", str(config))
    assert result.exit_code == 2
    assert "Loss became NaN/Inf at epoch 2" in result.stderr and "training.clipnorm" in result.stderr
    assert "lower training.learning_rate" in result.stderr
    files = RunFiles(load_config(config).run_dir)
    metrics = json.loads(files.metrics.read_text(), parse_constant=refuse_non_json)
    assert metrics["stopped_on_nan_at_epoch"] == 2 and metrics["epochs"] == 2 and metrics["best_epoch"] == 1
    listed = cli("runs", str(tmp_path / "checkpoints"), "--json")
    assert json.loads(listed.stdout, parse_constant=refuse_non_json)["runs"][0]["epochs"] == 2
    model = keras().saving.load_model(files.model, safe_mode=True)
    best = keras().models.clone_model(model)
    best.load_weights(files.best_weights)
    for kept, saved in zip(model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(kept, saved)


def test_disk_full_while_writing_artifacts_keeps_the_previous_ones(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2})
    assert cli("train", str(config)).exit_code == 0
    files = RunFiles(load_config(config).run_dir)
    before = {p.name: p.read_bytes() for p in files.root.iterdir() if p.is_file()}
    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        if str(dst).endswith("model.keras"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("rnnlab.atomic.os.replace", full_disk)
    result = cli("train", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {files.model}: cannot write it (No space left on device); free some disk space or choose a writable "
        "experiment.output_root, then run the command again (the previous file is unchanged)"
    ]
    for name in ("model.keras", "metrics.json", "weights.txt", "curves.png", "summary.txt", "config.yaml"):
        assert (files.root / name).read_bytes() == before[name], name
    assert not list(files.root.glob(".*-*")), "no temporary file is left behind"

    monkeypatch.setattr("rnnlab.atomic.os.replace", real_replace)
    again = cli("train", str(config))
    assert again.exit_code == 0, again.stderr
    metrics = json.loads(files.metrics.read_text())
    assert metrics["epochs"] == 4 and metrics["resumed_at_epoch"] == 4, "the finished epochs were not trained twice"


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    first = train(load_config(config), verbose=0)
    files = RunFiles(first.run_dir)
    best = files.best_weights.read_bytes()

    def full_disk(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("keras.Model.save_weights", full_disk)
    with pytest.raises(RunError, match="best.weights.h5: cannot write it"):
        train(load_config(config, ["training.learning_rate=0.5"]), verbose=0)
    assert files.best_weights.read_bytes() == best


@pytest.mark.parametrize(("stop_requested", "backed_up"), [(False, 1), (True, 3)])
def test_backup_interval_skips_epochs_unless_a_stop_is_requested(tmp_path: Path, stop_requested: bool, backed_up: int) -> None:
    from rnnlab.runtime import keras
    from rnnlab.train.resume import EpochBackup, backup_epoch

    k = keras()
    model = k.Sequential([k.Input((3,)), k.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = EpochBackup(tmp_path / "backup", interval_s=3600, requested=lambda: stop_requested)
    model.fit(np.zeros((4, 3)), np.zeros(4), epochs=3, verbose=0, callbacks=[backup])
    assert backup_epoch(tmp_path / "backup") == backed_up


def test_checkpoint_interval_keeps_a_new_best_in_memory_and_writes_it_at_the_end(tmp_path: Path) -> None:
    """Epoch losses 3, 1, 2 with the interval never due: epoch 1 is the best, its weights (not the
    last epoch's) reach best.weights.h5 when training ends, and the model keeps its own."""
    from rnnlab.runtime import keras
    from rnnlab.train.callbacks import BestCheckpoint

    k = keras()
    model = k.Sequential([k.Input((2,)), k.layers.Dense(1, use_bias=False)])
    path = tmp_path / "best.weights.h5"
    checkpoint = BestCheckpoint(path, interval_s=3600, monitor="loss")
    checkpoint.set_model(model)
    for epoch, loss in enumerate([3.0, 1.0, 2.0]):
        model.set_weights([np.full((2, 1), float(epoch))])
        checkpoint.on_epoch_end(epoch, {"loss": loss})
        if epoch == 1:
            first = k.Sequential([k.Input((2,)), k.layers.Dense(1, use_bias=False)])
            first.load_weights(path)
            assert first.get_weights()[0][0, 0] == 0.0, "a new best waits for the interval"
    checkpoint.on_train_end()
    saved = k.Sequential([k.Input((2,)), k.layers.Dense(1, use_bias=False)])
    saved.load_weights(path)
    assert saved.get_weights()[0][0, 0] == 1.0
    assert model.get_weights()[0][0, 0] == 2.0


def test_early_stopping_carries_on_counting_after_a_resume(tmp_path: Path) -> None:
    """Epochs 0-2 (val_loss 3, 1, 2) were done before an interruption, epoch 1 the best; with
    patience 2 the resumed run must stop after epoch 3 (2.5) and end on epoch 1's weights, read
    from best.weights.h5, as an uninterrupted run would."""
    from rnnlab.runtime import keras
    from rnnlab.train.callbacks import CarriedEarlyStopping

    k = keras()
    model = k.Sequential([k.Input((2,)), k.layers.Dense(1, use_bias=False)])
    model.set_weights([np.full((2, 1), 1.0)])
    model.save_weights(tmp_path / "best.weights.h5")
    stopper = CarriedEarlyStopping(
        done=[3.0, 1.0, 2.0], best_file=tmp_path / "best.weights.h5", monitor="val_loss", patience=2, restore_best_weights=True
    )
    stopper.set_model(model)
    model.set_weights([np.full((2, 1), 3.0)])
    stopper.on_train_begin()
    assert model.get_weights()[0][0, 0] == 3.0, "reading the best weights leaves the model's own"
    model.stop_training = False
    stopper.on_epoch_end(3, {"val_loss": 2.5})
    assert model.stop_training, "patience counts the epochs before the interruption"
    stopper.on_train_end()
    assert model.get_weights()[0][0, 0] == 1.0


def test_early_stopping_without_a_resume_starts_afresh(tmp_path: Path) -> None:
    from rnnlab.runtime import keras
    from rnnlab.train.callbacks import CarriedEarlyStopping

    k = keras()
    model = k.Sequential([k.Input((2,)), k.layers.Dense(1, use_bias=False)])
    stopper = CarriedEarlyStopping(done=[], monitor="val_loss", patience=2)
    stopper.set_model(model)
    stopper.on_train_begin()
    model.stop_training = False
    for epoch, loss in enumerate([3.0, 1.0, 2.0]):
        stopper.on_epoch_end(epoch, {"val_loss": loss})
    assert not model.stop_training


def test_a_resumed_run_stops_early_where_an_uninterrupted_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from rnnlab.errors import Interrupted

    def config(name: str):
        return load_config(
            shipped_config(
                "alphabet_onehot",
                tmp_path,
                experiment={"name": name},
                data={"letters": "abcdefghij"},
                training={"validation_split": 0.2, "epochs": 80, "early_stopping": {"patience": 3}},
            )
        )

    reference = train(config("reference"), verbose=0).metrics
    assert reference["epochs"] < 80, "the reference must stop early for this test to mean anything"
    files = RunFiles(config("resumed").run_dir)
    interrupted_after = reference["best_epoch"] + 1  # while early stopping is waiting for a better epoch

    @contextlib.contextmanager
    def stop_after_epochs():
        yield lambda: len(history_rows(files.history)) >= interrupted_after

    monkeypatch.setattr("rnnlab.train.trainer.stop_requests", stop_after_epochs)
    with pytest.raises(Interrupted):
        train(config("resumed"), verbose=0)
    monkeypatch.undo()
    resumed = train(config("resumed"), verbose=0).metrics
    assert resumed["resumed_at_epoch"] == interrupted_after
    assert (resumed["epochs"], resumed["best_epoch"]) == (reference["epochs"], reference["best_epoch"])
    ours = np.load(files.numpy_weights)
    theirs = np.load(files.root.parent / "reference" / "weights.npz")
    for name in theirs.files:
        if name.endswith("json"):
            continue
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-6, err_msg=f"{name}: not the best epoch's weights")
