"""Faults a long run must survive: Ctrl-C/SIGTERM (between epochs, mid-epoch, while the data loads),
kill -9 (after an epoch or a mid-epoch backup), NaN loss, a second trainer, a full disk."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab.config import load_config
from rnnlab.errors import Interrupted, RunError
from rnnlab.run.files import RunFiles
from rnnlab.runtime import keras
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


def start_training(config: Path, cwd: Path, stderr: int = subprocess.PIPE, **env: str) -> subprocess.Popen[str]:
    """`rnnlab train CONFIG` in a real process, its output in pipes; ``env`` replaces the default
    slowing (``RNNLAB_EPOCH_DELAY=0.7``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "train", str(config)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {"RNNLAB_EPOCH_DELAY": "0.7"})},
        stdout=subprocess.PIPE,
        stderr=stderr,
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
    assert saved >= 2 and len(history_rows(files.history)) == saved, "the backup holds every logged epoch"
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


@pytest.mark.parametrize("ema", [None, 0.9], ids=["raw", "ema"])
def test_a_resumed_run_stops_early_where_an_uninterrupted_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ema: float | None
) -> None:
    """With ``training.ema_momentum`` the backup must also keep the raw weights and their average apart."""
    import contextlib

    from rnnlab.errors import Interrupted

    def config(name: str):
        return load_config(
            shipped_config(
                "alphabet_onehot",
                tmp_path,
                experiment={"name": name},
                data={"letters": "abcdefghij"},
                training={"validation_split": 0.2, "epochs": 80, "early_stopping": {"patience": 3}, "ema_momentum": ema},
            )
        )

    reference = train(config("reference"), verbose=0).metrics
    assert reference["epochs"] < 80, "the reference must stop early for this test to mean anything"
    files = RunFiles(config("resumed").run_dir)
    interrupted_after = reference["best_epoch"] + 1  # while early stopping is waiting for a better epoch

    @contextlib.contextmanager
    def stop_after_epochs(**_: Any):
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


# --- long epochs: a stop or a kill mid-epoch, resumed at the batch it saved -----------------------

LONG_EPOCHS = 3


def long_epoch_config(folder: Path, **training: Any) -> Path:
    """26 letters two at a time: 11 batches an epoch (held back with ``RNNLAB_STEP_DELAY`` in a real
    process), dropout, a validation split, and a backup at most every 0.3 s, within epochs too."""
    return shipped_config(
        "alphabet_onehot",
        folder,
        data={"letters": string.ascii_lowercase},
        model={"layer": "gru", "units": 4, "dropout": 0.2},
        training={"epochs": LONG_EPOCHS, "batch_size": 2, "validation_split": 0.2, "backup_interval_s": 0.3, **training},
    )


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """An uninterrupted run of ``long_epoch_config``: its metrics and folder."""
    result = train(load_config(long_epoch_config(tmp_path_factory.mktemp("long_reference"))), verbose=0)
    return result.metrics, result.run_dir


def backup_json(files: RunFiles) -> dict:
    try:
        return json.loads((files.backup / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def assert_finished_as(files: RunFiles, resumed: dict, reference: dict, reference_dir: Path) -> None:
    """The same epochs, validation metrics and final weights as the uninterrupted run (the interrupted
    epoch's training loss, a mean over the batches this process ran, may differ)."""
    assert resumed["epochs"] == reference["epochs"]
    for key in ("val_loss", "val_accuracy"):
        assert resumed["final"][key] == pytest.approx(reference["final"][key], abs=1e-6), key
    ours, theirs = np.load(files.numpy_weights), np.load(reference_dir / "weights.npz")
    for name in (n for n in theirs.files if not n.endswith("json")):
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-6, err_msg=name)
    assert not files.backup.exists(), "a finished run keeps no backup"


def test_sigterm_mid_epoch_stops_at_the_next_batch_and_resumes_there(
    tmp_path: Path, long_reference: tuple[dict, Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = long_epoch_config(tmp_path)
    files = RunFiles(load_config(config).run_dir.absolute())
    process = start_training(config, tmp_path, RNNLAB_STEP_DELAY="0.2")
    try:
        wait_for_epochs(process, files.history, 1)
        time.sleep(0.7)  # a few batches into the second epoch, of 2.2 s
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert took < 10, f"the stop took {took:.1f} s"
    state = backup_json(files)
    assert 0 < state["step"] < state["steps"] == 11, state
    where = f"batch {state['step']}/11 of epoch {state['epoch'] + 1}"
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: training of 'alphabet_onehot' interrupted; epoch") and where in last, last
    assert "SIGTERM: stopping at the next batch" in stderr
    assert len(history_rows(files.history)) == state["epoch"]

    caplog.set_level("INFO", logger="rnnlab")
    resumed = train(load_config(config), verbose=0)
    assert f"at {where} of {LONG_EPOCHS}" in caplog.text
    assert resumed.metrics["resumed_at_epoch"] == state["epoch"]
    assert_finished_as(files, resumed.metrics, *long_reference)


def test_kill_9_after_a_mid_epoch_backup_resumes_at_its_batch(tmp_path: Path, long_reference: tuple[dict, Path]) -> None:
    config = long_epoch_config(tmp_path)
    files = RunFiles(load_config(config).run_dir.absolute())
    process = start_training(config, tmp_path, RNNLAB_STEP_DELAY="0.15")
    try:
        deadline = time.monotonic() + 180
        while not (backup_json(files).get("epoch", 0) >= 1 and backup_json(files).get("step")):
            assert process.poll() is None, f"training ended early: {process.communicate()}"
            assert time.monotonic() < deadline, "no mid-epoch backup was written"
            time.sleep(0.02)
        process.kill()
        process.wait(timeout=60)
    finally:
        process.kill()
    state = backup_json(files)
    assert state.get("step"), "killed right after a mid-epoch backup"
    left = {p.name for p in files.backup.iterdir()}
    assert {"state.json", "run.json", state["weights"], state["carried"]} <= left
    assert all(name.startswith("epoch-") for name in left - {"state.json", "run.json"}), (
        left
    )  # at most the previous backup, not yet removed

    resumed = train(load_config(config), verbose=0)
    assert resumed.metrics["resumed_at_epoch"] == state["epoch"]
    assert_finished_as(files, resumed.metrics, *long_reference)


class SignalAt(keras().callbacks.Callback):  # type: ignore[misc]
    """Sends this process SIGTERM at the start of batch ``batch`` of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def lyrics_config(folder: Path, **training: Any) -> Path:
    """A stateful LSTM with dropout on a small corpus (consecutive batches: the state flows between them)."""
    words = ["the", "rain", "falls", "on", "a", "quiet", "town", "and", "we", "sing"]
    rng = np.random.default_rng(1)
    (folder / "corpus.txt").write_text(" ".join(rng.choice(words, 300)), encoding="utf-8")
    return shipped_config(
        "lyrics_rnn",
        folder,
        data={"path": str(folder / "corpus.txt"), "num_steps": 5, "validation_fraction": 0.2, "max_chars": None},
        model={"layer": "lstm", "units": 8, "dropout": 0.2},
        training={"epochs": 3, "batch_size": 4, "steps_per_execution": 1, "jit_compile": False, **training},
    )


@pytest.mark.parametrize(
    ("make", "training", "stop_at"),
    [
        pytest.param(lyrics_config, {}, (1, 7), id="lyrics-stateful-lstm"),
        pytest.param(long_epoch_config, {"steps_per_execution": 3}, (0, 3), id="three-batches-per-call"),
        pytest.param(long_epoch_config, {}, (2, 4), id="in-the-last-epoch"),
    ],
)
def test_a_stop_mid_epoch_resumes_with_an_uninterrupted_runs_weights(
    tmp_path: Path, make: Any, training: dict, stop_at: tuple[int, int]
) -> None:
    """Dropout seeds, a stateful RNN's states and the optimizer come back with the weights, and the
    batches already trained are skipped: the run ends where one that was never stopped does."""
    config = make(tmp_path, **training)
    files = RunFiles(load_config(config).run_dir)
    with pytest.raises(Interrupted, match=r"and batch \d+/\d+ of epoch|interrupted; batch"):
        train(load_config(config), verbose=0, extra_callbacks=[SignalAt(*stop_at)])
    state = backup_json(files)
    assert (state["epoch"], state["step"] > stop_at[1]) == (stop_at[0], True), state
    resumed = train(load_config(config), verbose=0)
    reference = train(load_config(config, ["experiment.name=reference"]), verbose=0)
    assert resumed.metrics["resumed_at_epoch"] == stop_at[0]
    assert_finished_as(files, resumed.metrics, reference.metrics, reference.run_dir)


def test_a_mid_epoch_backup_is_refused_where_its_batches_cannot_be_skipped(tmp_path: Path) -> None:
    config = long_epoch_config(tmp_path)
    with pytest.raises(Interrupted):
        train(load_config(config), verbose=0, extra_callbacks=[SignalAt(0, 4)])
    with pytest.raises(RunError, match=r"saved mid-epoch \(epoch 1, batch 5\) and it counted 11 batches per epoch and this"):
        train(load_config(config, ["training.batch_size=4"]), verbose=0)


def test_sigterm_while_the_data_loads_stops_at_once_and_leaves_the_run_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnlab.data.alphabet import Alphabet

    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    files = RunFiles(load_config(config).run_dir)
    real_load = Alphabet.load

    def slow_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)  # a huge corpus
        return real_load(self, *args, **kwargs)

    def interrupted_load() -> float:
        monkeypatch.setattr(Alphabet, "load", slow_load)
        started = time.monotonic()
        with pytest.raises(Interrupted, match="interrupted before anything was saved; nothing to resume"):
            train(load_config(config), verbose=0)
        monkeypatch.setattr(Alphabet, "load", real_load)
        return time.monotonic() - started

    assert interrupted_load() < 5
    assert not files.root.exists(), "a first run interrupted while loading leaves no folder"
    train(load_config(config), verbose=0)
    before = {p.name: p.read_bytes() for p in files.root.iterdir()}
    assert interrupted_load() < 5
    assert {p.name: p.read_bytes() for p in files.root.iterdir()} == before, "nothing half-written, no lock left"
