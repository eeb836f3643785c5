"""Training never depends on its output: a reader that leaves (``| head -1``, a closed stderr, a
hung-up terminal) does not end it, and long epochs show where they are in a pipe."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from rnnlab.config import load_config
from rnnlab.run.files import RunFiles
from rnnlab.train.epoch_log import StepLines
from rnnlab.train.trainer import train
from tests.conftest import shipped_config
from tests.test_faults import long_epoch_config, start_training, wait_for_epochs

EPOCHS = 4
SLOW = {"RNNLAB_EPOCH_DELAY": "0.4"}
"""Epochs slow enough that most lines come after the reader has gone."""


def assert_complete(files: RunFiles, epochs: int) -> None:
    metrics = json.loads(files.metrics.read_text())
    assert metrics["epochs"] == epochs, metrics
    for path in (files.model, files.history, files.numpy_weights, files.weights_dump, files.curves, files.summary):
        assert path.is_file() and path.stat().st_size > 0, path
    assert not files.backup.exists() and not files.lock.exists()


def test_train_outlives_a_stdout_reader_that_leaves_after_one_line(tmp_path: Path) -> None:
    """`rnnlab train CONFIG | head -1`."""
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": EPOCHS})
    process = start_training(config, tmp_path, **SLOW)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr
    assert first.startswith(f"epoch 1/{EPOCHS} - ")
    assert "Error" not in stderr and "Exception ignored" not in stderr, stderr
    assert_complete(RunFiles(load_config(config).run_dir.absolute()), EPOCHS)


@pytest.mark.parametrize("together", [False, True], ids=["stderr-closed", "both-in-one-pipe-closed"])
def test_train_outlives_a_closed_stderr(tmp_path: Path, together: bool) -> None:
    """A continued run logs to stderr ("Continuing run ..."): with nobody reading it (or, with
    ``2>&1 | head -1``, nobody reading either stream after the first line) the run still finishes."""
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": EPOCHS})
    train(load_config(config), verbose=0)
    process = start_training(config, tmp_path, stderr=subprocess.STDOUT if together else subprocess.PIPE, **SLOW)
    assert process.stdout is not None
    if together:
        process.stdout.readline()
        process.stdout.close()
        output = ""
    else:
        assert process.stderr is not None
        process.stderr.close()
        output = process.stdout.read()
    assert process.wait(timeout=120) == 0, output
    if not together:
        assert f"epoch {2 * EPOCHS}/{2 * EPOCHS} - " in output and "Run folder:" in output
    assert_complete(RunFiles(load_config(config).run_dir.absolute()), 2 * EPOCHS)


def test_a_hang_up_is_ignored_and_the_run_finishes(tmp_path: Path) -> None:
    """SIGHUP (the terminal closed): rnnlab chooses to carry on, as under nohup, not to stop."""
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": EPOCHS})
    files = RunFiles(load_config(config).run_dir.absolute())
    process = start_training(config, tmp_path, **SLOW)
    try:
        wait_for_epochs(process, files.history, 1)
        process.send_signal(signal.SIGHUP)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "SIGHUP: the terminal went away; training carries on" in stderr
    assert f"epoch {EPOCHS}/{EPOCHS} - " in stdout
    assert_complete(files, EPOCHS)


def test_long_epochs_print_their_batch_and_loss_in_a_pipe(cli, tmp_path: Path) -> None:
    config = long_epoch_config(tmp_path, epochs=2)
    result = cli("train", str(config), "--set", "training.progress_interval_s=0.000001")
    assert result.exit_code == 0, result.stderr
    steps = re.findall(r"^epoch (\d)/2 step (\d+)/11 - accuracy: \S+ - loss: (\S+)$", result.stdout, re.MULTILINE)
    assert [(int(e), int(s)) for e, s, _ in steps] == [(e, s) for e in (1, 2) for s in range(1, 11)]
    assert all(float(loss) > 0 for *_, loss in steps)
    assert "epoch 2/2 - " in result.stdout

    quiet = cli("train", str(config), "--fresh", "--set", "training.progress_interval_s=0")
    assert " step " not in quiet.stdout and "epoch 2/2 - " in quiet.stdout


def test_step_lines_count_the_batches_a_resumed_epoch_already_had(tmp_path: Path) -> None:
    from tests.test_faults import SignalAt

    config = long_epoch_config(tmp_path, epochs=1)
    with pytest.raises(Exception, match="interrupted"):
        train(load_config(config), verbose=0, extra_callbacks=[SignalAt(0, 4)])
    lines: list[str] = []
    train(load_config(config), verbose=0, extra_callbacks=[StepLines(1e-9, lines.append)])
    assert [line.split(" - ")[0] for line in lines] == [f"epoch 1/1 step {s}/11" for s in range(6, 11)]
