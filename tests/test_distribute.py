"""tf.distribute: the same config trains on two logical CPUs and on two worker processes.

TensorFlow fixes its devices and its cluster when it starts, so every training here runs in a fresh
process (the pytest process has usually started TensorFlow already).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from rnnlab.config import load_config
from rnnlab.errors import ConfigError
from rnnlab.train.distribute import cluster_from_cli, read_tf_config, tf_config
from rnnlab.train.pipeline import epoch_batches
from rnnlab.train.resume import backup_epoch
from tests.conftest import PROJECT, shipped_config
from tests.test_imdb import write_keras_npz

ARTIFACTS = {"config.yaml", "task.json", "vocab.json", "best.weights.h5", "model.keras", "history.csv", "metrics.json",
             "weights.txt", "curves.png", "summary.txt"}  # fmt: skip
SGD = {"optimizer": "sgd", "learning_rate": 0.5}

# Mirrored vs none, in one fresh process with two logical CPUs: the alphabet, and the real imdb
# dataset module on a generated Keras-layout imdb.npz (plain padded arrays: bucketed tf.data batches
# are refused under distribute, see the catalogue in test_errors.py).
MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from rnnlab.train import distribute
    from rnnlab.config import load_config
    from rnnlab.train.trainer import train

    out = {}
    for mode in ("mirrored", "none"):  # logical devices first: TensorFlow fixes them when it starts
        sets = ["training.distribute=" + mode] + (["training.devices=2"] if mode == "mirrored" else [])
        alphabet, imdb = (load_config(path, sets + [f"experiment.name={name}_{mode}"])
                          for name, path in zip(("alphabet", "imdb"), sys.argv[1:3]))
        out[mode] = {"alphabet": train(alphabet, verbose=0).metrics, "imdb": train(imdb, verbose=0).metrics}
        out[mode]["replicas"] = distribute.strategy_for(alphabet).num_replicas_in_sync
    print(json.dumps(out))
    """
)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3", **extra)
    env.pop("TF_CONFIG", None)
    return env


def start_workers(
    tmp_path: Path, config: Path, sets: list[str], options: tuple[str, ...] = (), **env: str
) -> list[subprocess.Popen]:
    """Two ``rnnlab train`` workers on loopback, each in its own folder as if on its own machine."""
    workers = ",".join(f"127.0.0.1:{port}" for port in free_ports(2))
    procs = []
    for index in range(2):
        home = tmp_path / f"machine{index}"
        home.mkdir(exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "rnnlab",
            "train",
            str(config),
            *options,
            "--workers",
            workers,
            "--worker-index",
            str(index),
        ]
        for expression in ["training.distribute=multi_worker", "experiment.output_root=checkpoints", *sets]:
            args += ["--set", expression]
        procs.append(
            subprocess.Popen(args, cwd=home, env=environment(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    return procs


def test_devices_need_mirrored(tmp_path: Path) -> None:
    path = shipped_config("alphabet_onehot", tmp_path)
    with pytest.raises(ConfigError, match="devices is only for distribute: mirrored"):
        load_config(path, ["training.devices=2"])
    assert load_config(path, ["training.distribute=mirrored", "training.devices=2"]).training.devices == 2


def test_workers_flag_writes_tf_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    path = shipped_config("alphabet_onehot", tmp_path, training={"distribute": "multi_worker"})
    cluster_from_cli(load_config(path), "10.0.0.1:2222, 10.0.0.2:2222", 1)
    assert json.loads(os.environ["TF_CONFIG"]) == {
        "cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
        "task": {"type": "worker", "index": 1},
    }
    assert read_tf_config()["task"]["index"] == 1


@pytest.mark.parametrize(
    ("workers", "index", "message"),
    [
        (["10.0.0.1"], 0, "'10.0.0.1' is not host:port"),
        (["a:1", "a:1"], 0, "lists an address twice"),
        (["a:1", "b:2"], 2, r"--worker-index 2: must be 0..1"),
    ],
)
def test_bad_cluster_is_one_clear_line(workers: list[str], index: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tf_config(workers, index)


def test_workers_flag_needs_multi_worker_and_tf_config(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    path = shipped_config("alphabet_onehot", tmp_path)
    result = cli("train", str(path), "--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "0")
    assert result.exit_code == 2
    assert "--workers needs training.distribute: multi_worker" in result.output
    with pytest.raises(ConfigError, match="needs a cluster; set TF_CONFIG or pass --workers"):
        read_tf_config()


@pytest.mark.slow
def test_mirrored_on_two_cpus_trains_as_well_as_one_device(tmp_path: Path) -> None:
    alphabet = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 15, "learning_rate": 0.1})
    npz, _ = write_keras_npz(tmp_path / "data" / "imdb.npz", per_class=100)
    imdb = shipped_config(
        "imdb_lstm",
        tmp_path,
        data={"path": str(npz), "num_words": 120, "maxlen": 60, "bucket_by_length": False},
        model={"embedding_dim": 16, "layer": "gru", "units": 8},
        training={"batch_size": 40, "epochs": 10, "learning_rate": 0.02, "early_stopping": None, "ema_momentum": None},
    )
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(alphabet), str(imdb)],
        env=environment(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["none"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    # 5 samples on 2 replicas: padded with zero-weight samples, the math is that of one device.
    one, two = out["none"]["alphabet"], out["mirrored"]["alphabet"]
    assert two["final"]["accuracy"] == one["final"]["accuracy"] == 1.0
    assert two["final"]["loss"] == pytest.approx(one["final"]["loss"], rel=1e-3)
    # IMDB: 160 training reviews in global batches of 40 (20 per replica), 40 validation, 200 test.
    for mode in ("mirrored", "none"):
        assert out[mode]["imdb"]["epochs"] == 10
        assert out[mode]["imdb"]["final"]["val_accuracy"] >= 0.9, (mode, out[mode]["imdb"])
        assert out[mode]["imdb"]["test_accuracy"] >= 0.85, (mode, out[mode]["imdb"])
    assert out["mirrored"]["imdb"]["final"]["val_loss"] == pytest.approx(out["none"]["imdb"]["final"]["val_loss"], abs=0.1)


@pytest.mark.slow
def test_two_workers_agree_and_only_the_chief_writes(tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={**SGD, "epochs": 3, "validation_split": 0.2})
    procs = start_workers(tmp_path, config, [])
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
    chief = tmp_path / "machine0" / "checkpoints" / "alphabet_onehot"
    assert {p.name for p in chief.iterdir()} >= ARTIFACTS
    assert not (tmp_path / "machine1" / "checkpoints").exists()
    agreed = fingerprints(outputs)
    assert len(agreed) == 2 and agreed[0] == agreed[1]
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and "val_loss" in metrics["final"]

    # Continue for 3 more epochs, kill -9 both workers once the chief has backed one of them up, and
    # rerun: the chief resumes from its backup and hands its weights and epochs to the other worker.
    history = chief / "history.csv"
    procs = start_workers(tmp_path, config, [], RNNLAB_EPOCH_DELAY="0.7")
    try:
        deadline = time.monotonic() + 180
        while backup_epoch(chief / ".backup") < 4:
            assert procs[0].poll() is None and time.monotonic() < deadline, procs[0].communicate()[1][-2000:]
            time.sleep(0.05)
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
    saved = backup_epoch(chief / ".backup")
    assert 4 <= saved < 6

    procs = start_workers(tmp_path, config, [])
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert "Continuing run 'alphabet_onehot' from epoch 3" in outputs[0][1]
    assert f"Resuming interrupted run 'alphabet_onehot' at epoch {saved} of 6" in outputs[0][1]
    assert len(set(fingerprints(outputs))) == 1, "the resumed chief's weights reached the other worker"
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["epochs"] == 6 and metrics["resumed_at_epoch"] == saved
    assert logged_epochs(history) == [str(e) for e in range(6)]
    assert not (tmp_path / "machine1" / "checkpoints").exists()


def fingerprints(outputs: list[tuple[str, str]]) -> list[str]:
    return [
        line.split("fingerprint: ")[1].split()[0] for _, err in outputs for line in err.splitlines() if "fingerprint: " in line
    ]


def logged_epochs(history: Path) -> list[str]:
    if not history.is_file():
        return []
    return [line.split(",")[0] for line in history.read_text().splitlines()[1:] if line.strip()]


@pytest.mark.slow
def test_a_dead_worker_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={**SGD, "epochs": 100000})
    chief, worker = start_workers(tmp_path, config, [], options=("--log-every", "1"))
    try:
        assert chief.stdout is not None
        for line in chief.stdout:
            if line.startswith("epoch 3/"):
                break
        worker.send_signal(signal.SIGKILL)
        _, err = chief.communicate(timeout=90)
    finally:
        for proc in (chief, worker):
            if proc.poll() is None:
                proc.kill()
    assert chief.returncode == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "lost contact with worker 1 at 127.0.0.1:" in errors[0], err[-2000:]
    assert "Traceback" not in err


def batch_rows(dataset: object) -> list[list[int]]:
    return [x.numpy().tolist() for x, _ in dataset]


@pytest.mark.parametrize("seed", [None, 5])
def test_epoch_batches_depend_only_on_seed_and_epoch(seed: int | None) -> None:
    """Resuming at epoch 2 gives epoch 2 the batches it had in an uninterrupted run; a batch never
    mixes two epochs; shuffling leaves each epoch a permutation of the data."""
    x, y = np.arange(10), np.arange(10) * 10
    whole = batch_rows(epoch_batches(x, y, batch_size=4, epochs=range(0, 3), shuffle_seed=seed, one_iterator=True))
    assert [len(b) for b in whole] == [4, 4, 2] * 3
    epochs = [sum(whole[i : i + 3], []) for i in (0, 3, 6)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert (epochs[0] != epochs[1]) == (seed is not None)
    resumed = batch_rows(epoch_batches(x, y, batch_size=4, epochs=range(2, 3), shuffle_seed=seed, one_iterator=True))
    assert resumed == whole[6:]
    per_epoch = epoch_batches(x, y, batch_size=4, epochs=range(1, 3), shuffle_seed=seed, one_iterator=False)
    assert [batch_rows(per_epoch) for _ in range(2)] == [whole[3:6], whole[6:]]
    assert all((yb.numpy() == xb.numpy() * 10).all() for xb, yb in per_epoch)
