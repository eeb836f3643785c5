"""Every run's trivial baselines, on tiny data whose baselines the tests work out by hand: the
majority class, each position's majority, the training mean, the unigram and Witten–Bell bigram
perplexities; the lyrics' <unk>; and the line `rnnlab train` ends with."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab.commands.predict import predict
from rnnlab.config import load_config
from rnnlab.data import dataset, lyrics
from rnnlab.data.chars import UNKNOWN
from rnnlab.data.contract import Prepared, Split, TaskSpec
from rnnlab.data.sampling import generate
from rnnlab.errors import DataError
from tests.conftest import shipped_config, write_config


def baselines_of(kind: str, train: Split, validation: Split | None, **spec: Any) -> dict[str, Any]:
    data = Prepared(spec=TaskSpec(kind=kind, timesteps=None, **spec), train=train, validation=validation)
    found = dataset("alphabet").baselines(dataset("alphabet").options_model(), data)
    assert found is not None
    return found.as_dict(model=None)


def labels(*values: Any) -> Split:
    y = np.array(values)
    return Split(np.zeros((len(y), 1), dtype=np.int32), y)


@pytest.mark.parametrize("kind", ["classification", "binary"])
def test_majority_class_comes_from_training_and_is_scored_on_validation(kind: str) -> None:
    train, validation = labels(1, 1, 0, 1, 0), labels(0, 0, 1, 0)
    found = baselines_of(kind, train, validation, num_classes=2)
    assert (found["split"], found["metric"], found["model_key"]) == ("validation", "accuracy", "val_accuracy")
    assert found["scores"] == {"majority_class": 0.25}
    assert found["details"]["majority_class"] == "1"


def test_without_validation_the_baseline_is_scored_where_the_model_is() -> None:
    found = baselines_of("classification", labels(2, 0, 2, 1), None, num_classes=3)
    assert (found["split"], found["scores"]) == ("train", {"majority_class": 0.5})
    data = Prepared(TaskSpec("classification", 1, num_classes=3), labels(2, 2, 0), test=labels(0, 2, 0, 0))
    assert dataset("alphabet").baselines(dataset("alphabet").options_model(), data).split == "test"


def test_tagging_answers_each_positions_majority() -> None:
    train = Split(np.zeros((3, 2), dtype=np.int32), np.array([[0, 1], [0, 1], [1, 1]]))
    validation = Split(np.zeros((2, 2), dtype=np.int32), np.array([[0, 0], [1, 1]]))
    assert baselines_of("tagging", train, validation, num_classes=2)["scores"] == {"majority_class": 0.5}


def test_regression_predicts_the_training_mean() -> None:
    train = Split(np.zeros((4, 1, 1), dtype=np.float32), np.array([1.0, 2.0, 3.0, 6.0]))
    validation = Split(np.zeros((2, 1, 1), dtype=np.float32), np.array([0.0, 4.0]))
    found = baselines_of("regression", train, validation, features=1)
    assert (found["metric"], found["model_key"]) == ("loss", "val_loss")
    assert found["scores"] == {"training_mean": pytest.approx((9 + 1) / 2)}
    assert found["details"] == {"training_mean": 3.0, "training_mean_mae": pytest.approx(2.0)}


def test_unigram_and_bigram_perplexities_by_hand() -> None:
    a, b, c = 0, 1, 2
    train = Split(np.array([[a, b, a, b]]), np.array([[b, a, b, c]]))
    validation = Split(np.array([[a, b, c]]), np.array([[b, c, a]]))
    found = baselines_of("language_model", train, validation, vocab_size=3, num_classes=3)
    # training targets b, a, b, c: add-one unigram p(a) = 2/7, p(b) = 3/7, p(c) = 2/7
    unigram = (3 / 7 * 2 / 7 * 2 / 7) ** (-1 / 3)
    # after a: always b (c(a) = 2, T(a) = 1); after b: a once, c once (c(b) = 2, T(b) = 2); c never a context
    p_b_after_a = (2 + 1 * 3 / 7) / (2 + 1)
    p_c_after_b = (1 + 2 * 2 / 7) / (2 + 2)
    p_a_after_c = 2 / 7
    bigram = (p_b_after_a * p_c_after_b * p_a_after_c) ** (-1 / 3)
    assert found["metric"] == "perplexity" and list(found["scores"]) == ["bigram", "unigram"]
    assert found["scores"]["unigram"] == pytest.approx(unigram, abs=1e-5)
    assert found["scores"]["bigram"] == pytest.approx(bigram, abs=1e-5)


def write_corpus(folder: Path, text: str) -> Path:
    path = folder / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_rare_and_unseen_characters_share_one_unk_counted_on_the_training_part(tmp_path: Path) -> None:
    train_text, tail = "abab abab Z abab ", "abQ ba"
    corpus = write_corpus(tmp_path, train_text + tail)
    options = lyrics.Options(
        path=str(corpus), max_chars=None, num_steps=2, validation_fraction=len(tail) / len(train_text + tail)
    )
    data = lyrics.Lyrics().load(options, seed=0, validation_split=0.0)
    assert data.state["vocab"] == [" ", "a", "b", UNKNOWN]
    assert data.validation is not None
    tail_ids = np.concatenate([data.validation.x.ravel(), data.validation.y[-1:, -1]])
    assert tail_ids.tolist() == [1, 2, 3, 0, 2], "the tail's 'Q' was never seen in training: <unk>"
    assert 3 in data.train.x, "the training part's one 'Z' is <unk> too"


def test_generation_never_emits_unk_and_old_vocabularies_still_predict() -> None:
    def prefers_unk(ids: np.ndarray, state: object) -> tuple[np.ndarray, object]:
        return np.array([[0.0, 1.0, 9.0]]), state

    masked = lyrics.never_unknown(prefers_unk, 2)
    assert set(generate(masked, [0], 20)) == {1}
    assert set(generate(masked, [0], 50, temperature=5.0, seed=1)) <= {0, 1}

    class Model:
        def __call__(self, x: np.ndarray) -> np.ndarray:
            raise AssertionError

        def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
            return np.array([[0.0, 5.0, 0.0]]), state

    old = {"vocab": ["a", "b", "c"]}
    answered = lyrics.Lyrics().predict(lyrics.Options(), old, Model(), ["ab"], {"length": 3})
    assert answered[0].line == "abbbb"
    with pytest.raises(DataError, match=r"'z' not in this run's vocabulary of 3 characters"):
        lyrics.encode_prefix("az", old["vocab"])
    assert lyrics.encode_prefix("az", ["a", "b", UNKNOWN]) == [0, 2]


PHRASE = "the quick brown fox jumps over the lazy dog. "


@pytest.fixture(scope="module")
def lyrics_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lyrics_baseline")
    corpus = write_corpus(folder, PHRASE * 10 + "the quick brown fox jumps over the lazy dog! 42 " * 2)
    return write_config(
        folder,
        "phrase",
        {
            "experiment": {"output_root": str(folder / "checkpoints")},
            "data": {"dataset": "lyrics", "path": str(corpus), "num_steps": 8, "max_chars": None, "validation_fraction": 0.2},
            "model": {"units": 24},
            "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 4, "epochs": 3},
        },
    )


def test_train_ends_with_the_model_beside_its_baselines(cli, lyrics_run: Path) -> None:
    result = cli("train", str(lyrics_run), "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((lyrics_run.parent / "checkpoints" / "phrase" / "metrics.json").read_text())
    baseline = metrics["baseline"]
    assert baseline["split"] == "validation" and baseline["model"] == metrics["best"]["val_perplexity"]
    data = lyrics.Lyrics().load(load_config(lyrics_run).data, seed=0, validation_split=0.0)
    assert data.state["vocab"][-1] == UNKNOWN and "4" not in data.state["vocab"], "'!', '4' and '2' occur only in the tail"
    assert data.validation is not None
    targets = data.validation.y.ravel()
    counts = np.bincount(data.train.y.ravel(), minlength=len(data.state["vocab"]))
    unigram = math.exp(-np.mean(np.log((counts[targets] + 1) / (counts.sum() + len(counts)))))
    assert baseline["scores"]["unigram"] == pytest.approx(unigram, rel=1e-5)
    last = result.stdout.strip().splitlines()[-1]
    scores = baseline["scores"]
    assert last == (
        f"Baseline (validation): val_perplexity {baseline['model']:.4g} vs bigram {scores['bigram']:.4g}, "
        f"unigram {scores['unigram']:.4g}"
    )
    record = predict(lyrics_run, ["the 4"], {"length": 10})[0].record
    assert record["read_as_unk"] == ["4"] and UNKNOWN not in record["generated"]


def test_classifier_line_and_runs_column(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 2, "validation_split": 0.4})
    result = cli("train", str(config), "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "checkpoints" / "alphabet_onehot" / "metrics.json").read_text())
    model, majority = metrics["best"]["val_accuracy"], metrics["baseline"]["scores"]["majority_class"]
    assert result.stdout.strip().splitlines()[-1] == (
        f"Baseline (validation): val_accuracy {model:.4g} vs majority-class {majority:.4g}"
    )
    listed = json.loads(cli("runs", str(tmp_path / "checkpoints"), "--json").stdout)["runs"][0]
    assert (listed["baseline_name"], listed["baseline_value"]) == ("majority_class", majority)


def test_series_baselines_are_its_naive_forecasts_on_the_test_tail(tmp_path: Path) -> None:
    from rnnlab.data import series
    from tests.test_series import series_config

    options = load_config(series_config(tmp_path)).data
    data = series.Series().load(options, seed=0, validation_split=0.0)
    assert isinstance(data, series.SeriesData)
    found = series.Series().baselines(options, data)
    assert found is not None and (found.split, found.metric, found.model_key) == ("test", "rmse", "test_rmse")
    y, t = data.raw, data.starts["test"]
    assert found.scores["last_value"] == pytest.approx(np.sqrt(np.mean((y[t] - y[t - 1]) ** 2)), abs=1e-4)
    assert found.scores["seasonal_naive"] == pytest.approx(np.sqrt(np.mean((y[t] - y[t - 12]) ** 2)), abs=1e-4)
    assert found.details["last_value_mae"] == pytest.approx(np.mean(np.abs(y[t] - y[t - 1])), abs=1e-4)
