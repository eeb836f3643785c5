"""`rnnlab evaluate` scores a trained run on the full test split; `rnnlab show` decodes a sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.config import load_config
from rnnlab.run.files import RunFiles
from tests.conftest import shipped_config
from tests.test_imdb import npz_run, write_keras_npz  # noqa: F401 - the fixture is used by name


def test_evaluate_matches_the_test_metrics_of_training(npz_run: tuple[Path, Path], cli) -> None:
    config, _ = npz_run
    run_dir = load_config(config).run_dir
    metrics = json.loads(RunFiles(run_dir).metrics.read_text())
    as_json = cli("evaluate", str(run_dir), "--json")
    assert as_json.exit_code == 0, as_json.output
    scores = json.loads(as_json.stdout)
    assert scores["test_samples"] == 300
    assert scores["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert scores["test_loss"] == pytest.approx(metrics["test_loss"], abs=1e-5)
    text = cli("evaluate", str(config))
    assert text.exit_code == 0 and text.stdout.startswith("Test (300 samples, ")
    assert f"accuracy {metrics['test_accuracy']:.4f}" in text.stdout


def test_show_decodes_the_lessons_review_order(npz_run: tuple[Path, Path], cli) -> None:
    """Review N is load_data's x_train[N] (its seed-113 shuffle), decoded through the word index."""
    import numpy as np

    from tests.test_imdb import reviews

    config, _ = npz_run
    texts = reviews(150, 1)
    order = np.arange(len(texts))
    np.random.RandomState(113).shuffle(order)
    text, label = texts[order[7]]
    result = cli("show", str(config), "--index", "7", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    words = text.lower().replace("<br />", " ").replace(".", " ").replace("!", " ").split()
    assert shown["text"] == " ".join(["[START]", *words])
    assert shown["label"] == ("positive" if label else "negative") and shown["ids"][0] == 1
    plain = cli("show", str(config), "--index", "7")
    assert plain.stdout.startswith(f"train #7 ({shown['label']}, {len(shown['ids'])} ids): [START] ")


def test_show_and_evaluate_refuse_bad_input(npz_run: tuple[Path, Path], cli, tmp_path: Path) -> None:
    config, _ = npz_run
    beyond = cli("show", str(config), "--index", "5000")
    assert beyond.exit_code == 2 and "--index 5000: the train split has 300 samples; give 0 to 299" in beyond.output
    untrained = shipped_config("imdb_lstm", tmp_path, data={"path": str(npz_run[1])}, experiment={"name": "untrained"})
    missing = cli("evaluate", str(untrained))
    assert missing.exit_code == 2 and "no trained model yet" in missing.output
    bad_split = cli("show", str(config), "--split", "dev")
    assert bad_split.exit_code == 2 and "use train, validation or test" in bad_split.stderr


@pytest.mark.parametrize(
    ("shipped", "training", "split", "first"),
    [
        ("alphabet_onehot", {"epochs": 1}, "Train (5 samples, ", "train #1 (c, 1 ids): b"),
        ("hello_rnn", {"epochs": 1, "validation_split": 0.0}, "Train (1 samples, ", "train #0 (ohlol, 5 ids): hello"),
        ("alphabet_embedding", {"epochs": 1, "validation_split": 0.4}, "Validation (2 samples, ", None),
    ],
)
def test_evaluate_and_show_work_for_every_dataset(cli, tmp_path: Path, shipped, training, split, first) -> None:
    """Datasets without their own split files: the split load makes (test, else validation, else train), named."""
    config = shipped_config(shipped, tmp_path, training=training)
    assert cli("train", str(config), "-q").exit_code == 0
    run = tmp_path / "checkpoints" / shipped
    scored = cli("evaluate", str(run))
    assert scored.exit_code == 0, scored.output
    assert scored.stdout.startswith(split) and "loss " in scored.stdout
    name = split.split()[0].lower()
    as_json = json.loads(cli("evaluate", str(config), "--json").stdout)
    assert as_json["split"] == name and f"{name}_loss" in as_json
    if first is not None:
        shown = cli("show", str(run), "--index", first.split("#")[1].split()[0])
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.strip() == first
    missing = cli("evaluate", str(run), "--split", "test")
    assert missing.exit_code == 2 and "has no test split here; use one of" in missing.stderr


def test_show_regression_prints_the_vectors(cli, tmp_path: Path) -> None:
    config = shipped_config("regression_rnn", tmp_path)
    shown = json.loads(cli("show", str(config), "--json").stdout)
    assert shown["split"] == "train" and shown["text"].startswith("[[") and shown["ids"] == []
    float(shown["label"])
