"""Everyday use (issue 20): --version, train --quiet/--log-every, train RUN_DIR, learning-rate schedules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rnnlab import __version__
from tests.conftest import shipped_config


def history(run: Path) -> list[dict[str, str]]:
    with (run / "history.csv").open() as f:
        return list(csv.DictReader(f))


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"rnnlab {__version__}\n"


def test_quiet_prints_only_the_result_and_log_every_one_line_per_n_epochs(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 4})
    quiet = cli("train", str(config), "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert [line.split(":")[0] for line in quiet.stdout.splitlines()] == ["Run folder", "Epochs", "Baseline (train)"]
    logged = cli("train", str(config), "--fresh", "--log-every", "2")
    epoch_lines = [line for line in logged.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(" - ")[0] for line in epoch_lines] == ["epoch 2/4", "epoch 4/4"]
    assert "loss: " in epoch_lines[0] and "learning_rate: 0.01" in epoch_lines[0]


def test_train_run_dir_continues_that_run(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2})
    assert cli("train", str(config), "-q").exit_code == 0
    run = tmp_path / "checkpoints" / "alphabet_onehot"
    moved = run.rename(tmp_path / "elsewhere")
    again = cli("train", str(moved), "-q", "--set", "training.epochs=1")
    assert again.exit_code == 0, again.output
    assert json.loads((moved / "metrics.json").read_text())["epochs"] == 3
    for command in ("config", "summary"):
        assert cli(command, str(moved)).exit_code == 0
    assert "name: elsewhere" in cli("config", str(moved)).stdout
    missing = cli("train", str(tmp_path))
    assert missing.exit_code == 2 and "not a run folder (no config.yaml)" in missing.stderr


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("cosine", [0.01, 0.01 * (1 + 0.5**0.5) / 2, 0.005, 0.01 * (1 - 0.5**0.5) / 2]),
        ("{kind: exponential, decay_rate: 0.5}", [0.01, 0.005, 0.0025, 0.00125]),
    ],
)
def test_lr_schedule_is_logged_per_epoch(cli, tmp_path: Path, schedule: str, expected: list[float]) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 4})
    result = cli("train", str(config), "-q", "--set", f"training.lr_schedule={schedule}")
    assert result.exit_code == 0, result.output
    rates = [float(r["learning_rate"]) for r in history(tmp_path / "checkpoints" / "alphabet_onehot")]
    assert rates == pytest.approx(expected, rel=1e-5)


def test_reduce_on_plateau_reduces_and_a_continued_run_keeps_the_rate(cli, tmp_path: Path) -> None:
    config = shipped_config(
        "alphabet_onehot",
        tmp_path,
        training={"epochs": 3, "learning_rate": 1e-9, "lr_schedule": {"kind": "reduce_on_plateau", "patience": 0, "factor": 0.5}},
    )
    # at 1e-9 the loss hardly moves: with min_delta 1e-4, every epoch is a plateau
    assert cli("train", str(config), "-q").exit_code == 0
    run = tmp_path / "checkpoints" / "alphabet_onehot"
    rates = [float(r["learning_rate"]) for r in history(run)]
    assert rates[0] == pytest.approx(1e-9) and rates[-1] == pytest.approx(2.5e-10)
    assert cli("train", str(run), "-q", "--set", "training.epochs=1").exit_code == 0
    continued = [float(r["learning_rate"]) for r in history(run)]
    assert len(continued) == 4 and continued[3] <= rates[-1]


def test_a_bad_schedule_is_one_line(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path)
    result = cli("config", str(config), "--set", "training.lr_schedule=warmup")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "lr_schedule" in result.stderr


def test_interactive_predict_on_a_terminal(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    """Under a pseudo-terminal: the banner, answers, an error that does not end the session,
    a clean newline after Ctrl-D and exit code 0."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from tests.conftest import PROJECT

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "predict", str(tiny_runs["onehot_val"])],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes, count: int = 1, timeout: float = 120.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(marker) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    return

    read_until(b"input> ")
    os.write(leader, b"a\n")
    read_until(b"a -> ")
    os.write(leader, b"z\n")
    read_until(b"input> ", count=3)  # the prompt after the error: the session goes on
    os.write(leader, b"\x04")
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(seen.decode("utf-8", "replace")) from None
    assert code == 0
    read_until(b"never", timeout=1.0)
    os.close(leader)
    text = seen.decode("utf-8", "replace").replace("\r\n", "\n")
    assert "Input: characters from 'abcde', e.g. a, then Enter. Up/Down: history; Ctrl-D: end." in text
    assert "a -> " in text and "error: prefix 'z'" in text
    assert text.rstrip(" ").endswith("input> \n"), text[-80:]


def test_an_interrupted_cosine_run_resumes_on_its_schedule(tmp_path: Path) -> None:
    """SIGTERM after two epochs, then `train` again: the learning rates are those of one uninterrupted call."""
    import math
    import signal

    from rnnlab.config import load_config
    from rnnlab.run.files import RunFiles
    from tests.test_faults import history_rows, signal_after_epochs

    epochs = 5
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": epochs, "lr_schedule": "cosine"})
    files = RunFiles(load_config(config).run_dir.absolute())
    process = signal_after_epochs(config, tmp_path, files.history, 2, signal.SIGTERM)
    assert process.returncode == 130 and len(history_rows(files.history)) < epochs
    from rnnlab.train.trainer import train

    train(load_config(config), verbose=0)
    rates = [float(r["learning_rate"]) for r in history_rows(files.history)]
    expected = [0.01 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)]
    assert rates == pytest.approx(expected, rel=1e-5)
