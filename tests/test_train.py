"""End to end on the alphabet: the lesson's models learn the cycle, and the run folder is complete."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab.commands.export import export_run
from rnnlab.commands.predict import predict
from rnnlab.config import load_config
from rnnlab.errors import RunError
from rnnlab.run.files import RunFiles
from rnnlab.runtime import keras
from rnnlab.train.trainer import train
from tests.conftest import shipped_config

EXPECTED = {"a": "b", "b": "c", "c": "d", "d": "e", "e": "a"}
EXPECTED4 = {"abcd": "e", "bcde": "a", "cdea": "b", "deab": "c", "eabc": "d"}


@pytest.fixture(scope="module")
def onehot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunFiles]:
    folder = tmp_path_factory.mktemp("onehot")
    path = shipped_config("alphabet_onehot", folder)
    result = train(load_config(path), verbose=0)
    return path, RunFiles(result.run_dir)


@pytest.mark.parametrize(
    ("name", "expected", "overrides"),
    [
        ("alphabet_onehot", EXPECTED, {}),
        ("alphabet_embedding", EXPECTED, {}),
        ("alphabet4_embedding", EXPECTED4, {}),
    ],
)
def test_lesson_models_learn_every_letter(tmp_path: Path, name: str, expected: dict, overrides: dict) -> None:
    path = shipped_config(name, tmp_path, training=overrides)
    result = train(load_config(path), verbose=0)
    assert result.metrics["final"]["accuracy"] == 1.0
    answers = predict(path, list(expected))
    assert {p.record["input"]: p.record["output"] for p in answers} == expected


def test_run_folder_is_complete_and_readable(onehot_run: tuple[Path, RunFiles]) -> None:
    path, files = onehot_run
    metrics = json.loads(files.metrics.read_text())
    assert {"epochs", "best_epoch", "best", "final", "wall_time_s", "monitor"} <= metrics.keys()
    assert metrics["epochs"] == 100
    with files.history.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 100 and {"epoch", "loss", "accuracy"} <= rows[0].keys()
    assert files.curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(files.vocab.read_text()) == {"vocab": list("abcde")}
    assert "SimpleRNN" in files.summary.read_text()
    assert load_config(files.config).model_dump() == load_config(path).model_dump()
    dump = files.weights_dump.read_text()
    model = keras().saving.load_model(files.model)
    for variable in model.trainable_variables:
        assert f"{variable.path}  shape={tuple(variable.shape)}" in dump
    assert files.best_weights.is_file()
    assert not list(files.root.glob(".*-*")), "temporary files left behind"


def test_saved_model_reloads_with_same_predictions(onehot_run: tuple[Path, RunFiles]) -> None:
    path, files = onehot_run
    model = keras().saving.load_model(files.model, safe_mode=True)
    x = np.eye(5, dtype=np.float32)[:, None, :]
    from_model = np.asarray(model(x))
    from_cli = predict(files.root, list("abcde"))
    probs = np.array([[p.record["probabilities"][c] for c in "abcde"] for p in from_cli])
    np.testing.assert_allclose(probs, from_model, atol=1e-5)


def test_rerun_continues_and_fresh_restarts(tmp_path: Path) -> None:
    path = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 3})
    first = train(load_config(path), verbose=0)
    assert first.metrics["epochs"] == 3 and first.continued_from == 0
    second = train(load_config(path), verbose=0)
    assert second.continued_from == 3 and second.metrics["epochs"] == 6
    assert "Continuing run 'alphabet_onehot' from epoch 3" in second.messages[0]
    assert len(RunFiles(second.run_dir).history.read_text().strip().splitlines()) == 1 + 6
    export_run(second.run_dir)
    assert (RunFiles(second.run_dir).export / "model.keras").is_file()
    fresh = train(load_config(path), fresh=True, verbose=0)
    assert fresh.continued_from == 0 and fresh.metrics["epochs"] == 3
    assert not RunFiles(fresh.run_dir).export.exists(), "an export of the old model must not outlive --fresh"


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    runs = []
    for name in ("one", "two"):
        path = shipped_config("alphabet_embedding", tmp_path, experiment={"name": name}, training={"epochs": 20})
        runs.append(train(load_config(path), verbose=0).metrics["final"])
    assert runs[0] == runs[1]


def test_grouping_batches_per_call_changes_speed_not_results(tmp_path: Path) -> None:
    finals = []
    for group in (1, 4):
        path = shipped_config(
            "alphabet_embedding",
            tmp_path,
            experiment={"name": f"spe{group}"},
            training={"epochs": 5, "batch_size": 2, "steps_per_execution": group},
        )
        finals.append(train(load_config(path), verbose=0).metrics["final"])
    assert finals[0]["loss"] == pytest.approx(finals[1]["loss"], rel=1e-5)
    assert finals[0]["accuracy"] == finals[1]["accuracy"]


def test_continuing_with_a_different_model_is_refused(tmp_path: Path) -> None:
    path = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2})
    train(load_config(path), verbose=0)
    with pytest.raises(RunError, match=r"trained with model.units=3 but the config says 5; pass --fresh"):
        train(load_config(path, ["model.units=5"]), verbose=0)
    with pytest.raises(RunError, match="model.units=3 but the config says 5"):
        predict(path, ["a"], overrides=("model.units=5",))


def test_validation_split_drives_monitor_and_early_stopping(tmp_path: Path) -> None:
    path = shipped_config(
        "alphabet_onehot",
        tmp_path,
        data={"letters": "abcdefghij"},
        training={"validation_split": 0.2, "epochs": 40, "early_stopping": {"patience": 2}},
    )
    metrics = train(load_config(path), verbose=0).metrics
    assert metrics["monitor"] == "val_loss" and metrics["validation_samples"] == 2
    assert "val_loss" in metrics["final"]
    assert metrics["epochs"] <= 40


def summary_plugins(folder: Path) -> dict[str, set[str]]:
    """Tag → TensorBoard plugin for every summary in the event files under ``folder``."""
    tf = __import__("rnnlab.runtime", fromlist=["tensorflow"]).tensorflow()
    plugins: dict[str, set[str]] = {}
    for events in folder.rglob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(events)):
            for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value:
                plugins.setdefault(value.metadata.plugin_data.plugin_name, set()).add(value.tag)
    return plugins


def test_tensorboard_logs_land_in_the_run_folder(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2, "validation_split": 0.4, "tensorboard": True})
    result = cli("train", str(config))
    assert result.exit_code == 0, result.output
    logs = tmp_path / "checkpoints" / "alphabet_onehot" / "tensorboard"
    assert f"TensorBoard logs: tensorboard --logdir {logs}" in result.stderr
    assert list((logs / "train").glob("events.out.tfevents.*")) and list((logs / "validation").glob("events.out.tfevents.*"))
    plugins = summary_plugins(logs)
    assert "epoch_loss" in plugins["scalars"] and "histograms" not in plugins
    with_histograms = shipped_config(
        "alphabet_onehot", tmp_path, training={"epochs": 1, "tensorboard": True, "tensorboard_histogram_freq": 1}
    )
    assert cli("train", str(with_histograms), "--fresh").exit_code == 0
    assert "histograms" in summary_plugins(logs)
    plain = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1, "tensorboard": False})
    trained = cli("train", str(plain), "--fresh")
    assert "tensorboard" not in trained.stderr.lower() and not logs.exists(), "--fresh clears old logs"


def test_momentum_reaches_the_keras_optimizer(tmp_path: Path) -> None:
    path = shipped_config("alphabet_onehot", tmp_path, training={"optimizer": "sgd", "momentum": 0.9, "epochs": 1})
    run = train(load_config(path), verbose=0)
    model = keras().saving.load_model(RunFiles(run.run_dir).model)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == pytest.approx(0.9)


def test_ema_validates_saves_and_ends_on_the_averaged_weights(tmp_path: Path) -> None:
    """Training steps the raw weights (the same training loss as without the average); validation,
    best.weights.h5 and model.keras are the average's, so the saved files score what history.csv says."""
    from rnnlab.data import dataset
    from rnnlab.train.pipeline import evaluate_split

    def run(name: str, ema: float | None) -> tuple[Any, list[dict[str, str]]]:
        path = shipped_config(
            "alphabet_onehot",
            tmp_path,
            experiment={"name": name},
            data={"letters": "abcdefghij"},
            training={"epochs": 6, "validation_split": 0.3, "ema_momentum": ema, "early_stopping": None},
        )
        config = load_config(path)
        train(config, verbose=0)
        with RunFiles(config.run_dir).history.open(newline="") as f:
            return config, list(csv.DictReader(f))

    _, plain = run("plain", None)
    config, averaged = run("averaged", 0.9)
    np.testing.assert_allclose([float(r["loss"]) for r in averaged], [float(r["loss"]) for r in plain], rtol=1e-5)
    assert [r["val_loss"] for r in averaged][1:] != [r["val_loss"] for r in plain][1:], "validation saw the raw weights"

    files = RunFiles(config.run_dir)
    data = dataset(config.data.dataset).load(config.data, seed=config.experiment.seed, validation_split=0.3)
    assert data.validation is not None
    model = keras().saving.load_model(files.model)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == pytest.approx(0.9)

    def val_loss() -> float:
        return evaluate_split(model, data.validation, config, data.spec)["test_loss"]

    assert val_loss() == pytest.approx(float(averaged[-1]["val_loss"]), abs=1e-5), "model.keras is the last epoch's average"
    best = min(averaged, key=lambda r: float(r["val_loss"]))
    model.load_weights(files.best_weights)
    assert val_loss() == pytest.approx(float(best["val_loss"]), abs=1e-5), "best.weights.h5 is the best epoch's average"
