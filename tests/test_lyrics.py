"""The character language model on tiny corpora the tests write: data layout, training, generation, errors."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnlab.commands.predict import predict
from rnnlab.config import load_config
from rnnlab.data import lyrics
from rnnlab.data.chars import UNKNOWN
from rnnlab.data.sampling import choose_next, generate
from rnnlab.errors import DataError
from rnnlab.run.files import RunFiles, read_history
from rnnlab.run.opening import open_run
from rnnlab.train.trainer import train
from tests.conftest import write_config
from tests.test_cli import run_module
from tests.test_numpy_rnn import assert_same_generation

PHRASE = "the quick brown fox jumps over the lazy dog. "
BILINGUAL = "分开 我爱你 hello 你好 world 不分开 "


def lyrics_config(folder: Path, corpus: str, name: str, **data: object) -> Path:
    text_file = folder / f"{name}.txt"
    text_file.write_text(corpus, encoding="utf-8")
    return write_config(
        folder,
        name,
        {
            "experiment": {"output_root": str(folder / "checkpoints")},
            "data": {"dataset": "lyrics", "path": str(text_file), "num_steps": 8, "max_chars": None, **data},
            "model": {"units": 48},
            "training": {"optimizer": "adam", "learning_rate": 0.01, "clipnorm": 1.0, "batch_size": 4, "epochs": 25},
        },
    )


@pytest.fixture(scope="module")
def phrase_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("phrase")
    path = lyrics_config(folder, PHRASE * 12, "phrase", validation_fraction=0.2)
    return path, train(load_config(path), verbose=0).metrics


@pytest.fixture(scope="module")
def bilingual_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bilingual")
    path = lyrics_config(folder, BILINGUAL * 20, "bilingual", sampling="random")
    train(load_config(path, ["model.encoding=embedding", "model.embedding_dim=16", "model.layer=gru"]), verbose=0)
    return path


def test_model_drives_perplexity_near_one_and_logs_it(phrase_run: tuple[Path, dict]) -> None:
    path, metrics = phrase_run
    assert metrics["final"]["perplexity"] < 1.1
    assert metrics["final"]["val_perplexity"] < 1.3
    assert metrics["final"]["perplexity"] == pytest.approx(math.exp(metrics["final"]["loss"]), rel=1e-4)
    history = read_history(RunFiles(load_config(path).run_dir).history)
    assert {"perplexity", "val_perplexity"} <= history.keys() and len(history["perplexity"]) == 25


def test_predict_continues_the_phrase_greedily(phrase_run: tuple[Path, dict]) -> None:
    path, _ = phrase_run
    answers = predict(path, ["the quick", "lazy"], {"length": 30})
    assert answers[0].line == "the quick" + (PHRASE * 2)[len("the quick") : len("the quick") + 30]
    start = PHRASE.index("lazy") + 4
    assert answers[1].record["generated"] == (PHRASE * 2)[start : start + 30]


def test_sampling_is_seeded_and_top_k_one_is_greedy(phrase_run: tuple[Path, dict]) -> None:
    path, _ = phrase_run
    greedy = predict(path, ["the"], {"length": 40})[0].line
    sampled = [predict(path, ["the"], {"length": 40, "temperature": 1.5, "seed": 7})[0].line for _ in range(2)]
    assert sampled[0] == sampled[1]
    assert predict(path, ["the"], {"length": 40, "temperature": 5.0, "top_k": 1})[0].line == greedy


VARIANTS = {
    "lstm_embedding": [
        "model.layer=lstm",
        "model.encoding=embedding",
        "model.embedding_dim=16",
        "model.output_dropout=0.3",
        "model.output_bias=prior",
    ],
    "gru_two_layers": ["model.layer=gru", "model.num_layers=2"],
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    path = lyrics_config(folder, PHRASE * 6, request.param)
    return train(load_config(path, [*VARIANTS[request.param], "model.units=32", "training.epochs=12"]), verbose=0).run_dir


def test_numpy_generation_equals_keras_on_a_trained_lstm_and_two_gru_layers(variant_run: Path) -> None:
    run = open_run(variant_run)
    assert_same_generation(run, prefix="the ", length=40)


def test_numpy_generation_equals_keras_on_the_one_hot_simple_rnn(phrase_run: tuple[Path, dict]) -> None:
    run = open_run(load_config(phrase_run[0]).run_dir)
    assert_same_generation(run, prefix="the ", length=40)


def test_recurrent_dropout_keeps_the_plain_layer_and_numpy_agrees_at_inference() -> None:
    from rnnlab.config import ModelConfig
    from rnnlab.data.contract import TaskSpec
    from rnnlab.model.builder import build_model
    from rnnlab.model.numpy_engine import Network, keras_layers

    spec = TaskSpec(kind="language_model", timesteps=6, vocab_size=9, num_classes=9)
    model = build_model(ModelConfig(units=8, recurrent_dropout=0.3), spec)
    assert [type(layer).__name__ for layer in model.layers] == ["CategoryEncoding", "SimpleRNN", "Dense"]
    assert model.layers[1].recurrent_dropout == 0.3
    ids = np.random.default_rng(0).integers(0, 9, size=(2, 6))
    np.testing.assert_allclose(Network(keras_layers(model))(ids), np.asarray(model(ids, training=False)), atol=1e-5)


def test_prior_output_bias_starts_training_at_the_unigram(tmp_path: Path) -> None:
    """Untrained (a learning rate too small to move anything), the prior head scores near the
    unigram's perplexity, the zero head near the vocabulary size."""
    path = lyrics_config(tmp_path, PHRASE * 6, "prior", validation_fraction=0.2)
    still = ["training.epochs=1", "training.learning_rate=1e-12", "training.optimizer=sgd", "training.early_stopping=off"]
    first = {}
    for bias in ("zeros", "prior"):
        result = train(load_config(path, [*still, f"model.output_bias={bias}", f"experiment.name={bias}"]), verbose=0)
        first[bias] = read_history(RunFiles(result.run_dir).history)["val_perplexity"][0]
        baselines = result.metrics["baseline"]["scores"]
    vocab_size = len(set(PHRASE))
    assert abs(first["prior"] - baselines["unigram"]) < 0.15 * baselines["unigram"] < first["zeros"] - baselines["unigram"]
    assert first["zeros"] > 0.7 * vocab_size


def test_label_smoothing_logs_the_plain_cross_entropy_and_a_continued_run_reloads_its_loss(tmp_path: Path) -> None:
    path = lyrics_config(tmp_path, PHRASE * 6, "smoothed", validation_fraction=0.2)
    chosen = ["training.label_smoothing=0.3", "training.epochs=2"]
    first = train(load_config(path, chosen), verbose=0)
    history = read_history(RunFiles(first.run_dir).history)
    for prefix in ("", "val_"):
        np.testing.assert_allclose(history[prefix + "perplexity"], np.exp(history[prefix + "cross_entropy"]), rtol=1e-4)
        assert history[prefix + "loss"] != pytest.approx(history[prefix + "cross_entropy"], rel=1e-3)
    assert first.metrics["baseline"]["model"] == pytest.approx(min(history["val_perplexity"]), rel=1e-4)
    assert first.metrics["monitor"] == "val_cross_entropy"
    again = train(load_config(path, chosen), verbose=0)
    assert len(read_history(RunFiles(again.run_dir).history)["epoch"]) == 4


def test_vocabulary_round_trips_through_the_run_folder(bilingual_run: Path, tmp_path: Path) -> None:
    files = RunFiles(load_config(bilingual_run).run_dir)
    assert json.loads(files.vocab.read_text(encoding="utf-8")) == {"vocab": [*sorted(set(BILINGUAL)), UNKNOWN]}
    answered = run_module("predict", str(files.root), "--prefix", "我爱", "--length", "12", cwd=tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == "我爱你 hello 你好 w"


def test_unknown_prefix_characters_are_read_as_unk_and_named(bilingual_run: Path, tmp_path: Path) -> None:
    files = RunFiles(load_config(bilingual_run).run_dir)
    result = run_module("predict", str(files.root), "--prefix", "我Z爱€", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["read_as_unk"] == ["Z", "€"] and record["text"].startswith("我Z爱€")


def test_consecutive_batches_continue_row_by_row() -> None:
    ids = np.arange(1000, dtype=np.int32)
    data = lyrics.windows(ids, 7, "text")
    batch = 5
    laid = lyrics.consecutive(data, batch, "text")
    per_row = len(data) // batch
    assert laid.x.shape == (per_row * batch, 7)
    for i in range(per_row - 1):
        now, after = laid.x[i * batch : (i + 1) * batch], laid.x[(i + 1) * batch : (i + 2) * batch]
        assert (after[:, 0] == now[:, -1] + 1).all()
    np.testing.assert_array_equal(laid.y, laid.x + 1)


def test_consecutive_plan_is_stateful_and_unshuffled_random_is_not(tmp_path: Path) -> None:
    path = lyrics_config(tmp_path, PHRASE * 4, "plan")
    config = load_config(path)
    data = lyrics.Lyrics().load(config.data, seed=0, validation_split=0.0)
    plan = lyrics.Lyrics().fit_plan(config.data, data, batch_size=config.training.batch_size)
    assert plan.stateful_batch == 4 and plan.shuffle is False
    config = load_config(path, ["data.sampling=random"])
    plan = lyrics.Lyrics().fit_plan(
        config.data, lyrics.Lyrics().load(config.data, seed=0, validation_split=0.0), batch_size=config.training.batch_size
    )
    assert plan.stateful_batch is None and plan.shuffle is True
    np.testing.assert_array_equal(plan.train.x[1:, 0], plan.train.y[:-1, -1])


def test_options_shape_the_corpus(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("ab\ncd\r\nef" * 3, encoding="utf-8")
    kept = lyrics.read_corpus(lyrics.Options(path=str(path), newline="keep", max_chars=None))
    assert kept == "ab\ncd\r\nef" * 3
    assert lyrics.read_corpus(lyrics.Options(path=str(path), max_chars=6)) == "ab cd "
    data = lyrics.Lyrics().load(
        lyrics.Options(path=str(path), num_steps=3, max_chars=None, validation_fraction=0.25), seed=0, validation_split=0
    )
    assert data.state["vocab"] == [*sorted(set("ab cdef")), UNKNOWN] and data.validation is not None


def test_generation_needs_only_a_step_function() -> None:
    calls = []

    def step(ids: np.ndarray, state: object) -> tuple[np.ndarray, object]:
        calls.append(int(ids[0]))
        logits = np.full((1, 10), -5.0)
        logits[0, (int(ids[0]) + 1) % 10] = 5.0
        return logits, (state or 0) + 1

    assert generate(step, [3, 4], 8) == [5, 6, 7, 8, 9, 0, 1, 2]
    assert calls == [3, 4, 5, 6, 7, 8, 9, 0, 1], "each character goes through the step function exactly once"
    logits = np.log(np.array([[0.1, 0.2, 0.7]]))
    draws = [choose_next(logits, 1.0, 2, np.random.default_rng(s))[0] for s in range(200)]
    assert set(draws) == {1, 2}


def zip_with(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


BAD_CORPORA = [
    ("empty.zip", {}, "exactly one text file, found 0 (no files)"),
    ("two.zip", {"a.txt": b"abc", "b.txt": b"def"}, "exactly one text file, found 2 (a.txt, b.txt)"),
    ("blank.txt", b"", "the corpus is empty"),
    ("latin1.txt", "café au lait".encode("latin-1"), "not UTF-8 text (bad byte at offset 3)"),
    ("short.txt", "短い".encode(), "fewer than one window of data.num_steps=35"),
    ("fake.zip", b"not a zip", "not a valid zip archive"),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_CORPORA)
def test_bad_corpora_give_one_line_errors(tmp_path: Path, name: str, content: object, expected: str) -> None:
    path = tmp_path / name
    if isinstance(content, dict):
        zip_with(path, content)
    else:
        path.write_bytes(content)
    with pytest.raises(DataError) as info:
        lyrics.Lyrics().load(lyrics.Options(path=str(path)), seed=0, validation_split=0.0)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_too_few_windows_for_a_consecutive_batch(tmp_path: Path, cli) -> None:
    path = lyrics_config(tmp_path, PHRASE, "tiny")
    result = cli("train", str(path), "--set", "training.batch_size=64")
    assert result.exit_code == 2
    assert "consecutive sampling needs at least training.batch_size=64" in result.stderr
    assert not (tmp_path / "checkpoints" / "tiny" / "model.keras").exists()


def test_missing_file_and_offline_download_say_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match="no such file"):
        lyrics.read_corpus(lyrics.Options(path=str(tmp_path / "nope.zip")))
    from rnnlab.runtime import keras

    def offline(*args: object, **kwargs: object) -> str:
        raise Exception("URL fetch failure: <urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(keras().utils, "get_file", offline)
    with pytest.raises(
        DataError,
        match=r"jaychou_lyrics.txt.zip is not cached at .* and fetching .* failed .* --set data.path=/path/to/jaychou_lyrics",
    ):
        lyrics.read_corpus(lyrics.Options())


def test_validation_split_is_refused_in_favour_of_the_tail(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data.validation_fraction"):
        lyrics.Lyrics().load(
            lyrics.Options(path=str(lyrics_config(tmp_path, PHRASE * 3, "v").with_suffix(".txt"))), seed=0, validation_split=0.1
        )


def test_summary_counts_the_one_hot_kernel_as_simple_rnn_does(tmp_path: Path, cli) -> None:
    path = lyrics_config(tmp_path, BILINGUAL * 3, "summary")
    result = cli("summary", str(path))
    vocab = len(set(BILINGUAL)) + 1  # and <unk>
    assert f"simple_rnn_1 (OneHotSimpleRNN): 48 × ({vocab} + 48 + 1) = {48 * (vocab + 49):,}" in result.stdout
