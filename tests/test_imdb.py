"""IMDB sentiment on generated reviews: both sources learn, raw text is encoded as load_data does,
the saved vocabulary reproduces predictions in a new process, malformed data gives one clear line."""

from __future__ import annotations

import collections
import json
import random
import tarfile
from pathlib import Path

import numpy as np

FILLER = [f"w{i}" for i in range(60)] + ["movie", "film", "the", "a", "and", "it's", "plot", "actors"]
POSITIVE = ["great", "wonderful", "superb", "loved", "brilliant"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dreadful"]


def review(rng: random.Random, positive: bool) -> str:
    """Filler words with a few words of the review's sentiment: a signal an LSTM learns quickly."""
    words = [rng.choice(FILLER) for _ in range(rng.randint(8, 60))]
    for _ in range(rng.randint(2, 4)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if positive else NEGATIVE))
    text = " ".join(words)
    return text[:1].upper() + text[1:] + rng.choice([".", "!", " <br /><br />Really."])


def reviews(per_class: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(review(rng, bool(label)), label) for label in (0, 1) for _ in range(per_class)]


def write_acl_tree(root: Path, per_class: int = 150) -> Path:
    for split, seed in (("train", 1), ("test", 2)):
        for i, (body, label) in enumerate(reviews(per_class, seed)):
            folder = root / "aclImdb" / split / ("pos" if label else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_{7 if label else 2}.txt").write_text(body, encoding="utf-8")
    (root / "aclImdb" / "README").write_text("not a review", encoding="utf-8")
    return root / "aclImdb"


def tokens(text: str) -> list[str]:
    return text.lower().replace("<br />", " ").replace(".", " ").replace("!", " ").split()


def write_keras_npz(path: Path, per_class: int = 150) -> tuple[Path, dict[str, int]]:
    """imdb.npz in Keras's layout (object arrays of word ranks) plus imdb_word_index.json beside it."""
    splits = {split: reviews(per_class, seed) for split, seed in (("train", 1), ("test", 2))}
    counts = collections.Counter(w for text, _ in splits["train"] for w in tokens(text))
    index = {w: rank for rank, (w, _) in enumerate(counts.most_common(), start=1)}
    arrays = {}
    for split, items in splits.items():
        ranks = np.empty(len(items), dtype=object)
        ranks[:] = [[index[w] for w in tokens(text) if w in index] for text, _ in items]
        arrays[f"x_{split}"] = ranks
        arrays[f"y_{split}"] = np.array([label for _, label in items], dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    (path.parent / "imdb_word_index.json").write_text(json.dumps(index), encoding="utf-8")
    return path, index


import os
import pickle
import subprocess
import sys
import zipfile
from typing import Any

import pytest

from rnnlab.commands.predict import Answerer, RunPredictor, predict
from rnnlab.config import load_config
from rnnlab.data import imdb, text
from rnnlab.data.contract import Split
from rnnlab.errors import DataError
from rnnlab.run.files import RunFiles
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.runtime import keras
from rnnlab.train.pipeline import plan_batches
from rnnlab.train.trainer import train
from tests.conftest import PROJECT, shipped_config

SMALL = {
    "model": {"embedding_dim": 16, "units": 16},
    "training": {
        "batch_size": 32,
        "epochs": 8,
        "learning_rate": 0.01,
        "validation_split": 0.2,
        "early_stopping": {"patience": 3},
        "ema_momentum": None,  # a few dozen steps: a 0.995 average would still be mostly the initial weights
    },
}
SENTENCES = ["a great and wonderful film, loved it", "boring and awful, I hated it", "superb actors", "dreadful plot"]


def small_config(folder: Path, name: str, **data: object) -> Path:
    """The shipped lesson config shrunk to the generated data (bucketing on, as shipped)."""
    return shipped_config("imdb_lstm", folder, experiment={"name": name}, data={"num_words": 120, "maxlen": 60, **data}, **SMALL)


def tarball(tree: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        archive.add(tree, arcname="aclImdb")
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, __import__("io").BytesIO(data))
    return target


@pytest.fixture(scope="module")
def npz_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("npz")
    npz, _ = write_keras_npz(folder / "cache" / "imdb.npz")
    config = small_config(folder, "npz", source="keras", path=str(npz))
    train(load_config(config), verbose=0)
    return config, npz


@pytest.fixture(scope="module")
def tar_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tar")
    archive = tarball(write_acl_tree(folder / "tree"), folder / "aclImdb_v1.tar.gz")
    config = small_config(folder, "tar", source="directory", path=str(archive))
    train(load_config(config), verbose=0)
    return config, archive


@pytest.mark.parametrize("fixture", ["npz_run", "tar_run"])
def test_both_sources_learn_above_chance_on_the_test_split(fixture: str, request: pytest.FixtureRequest) -> None:
    config, _ = request.getfixturevalue(fixture)
    files = RunFiles(load_config(config).run_dir)
    metrics = json.loads(files.metrics.read_text())
    assert metrics["test_accuracy"] >= 0.8 and "test_loss" in metrics
    assert metrics["train_samples"] == 240 and metrics["validation_samples"] == 60
    labels = [p.record["label"] for p in predict(config, SENTENCES)]
    assert labels == ["positive", "negative", "positive", "negative"]


def test_validation_split_is_stratified() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    fit, validation = text.stratified_folds(labels, 0.2, seed=3)
    assert sorted(np.concatenate([fit, validation])) == list(range(100))
    assert (labels[validation] == 0).sum() == 16 and (labels[validation] == 1).sum() == 4
    assert not np.array_equal(validation, text.stratified_folds(labels, 0.2, seed=4)[1])


@pytest.mark.parametrize(("num_words", "skip_top", "index_from"), [(30, 0, 3), (50, 5, 2)])
def test_keras_ids_match_load_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, num_words: int, skip_top: int, index_from: int
) -> None:
    """Our npz reader and our raw-text encoder both give exactly the ids keras.datasets.imdb.load_data gives."""
    import keras.src.datasets.imdb as keras_imdb

    npz, index = write_keras_npz(tmp_path / "imdb.npz", per_class=20)
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(npz))
    (x_train, y_train), (x_test, _) = keras().datasets.imdb.load_data(
        num_words=num_words, skip_top=skip_top, index_from=index_from
    )
    options = imdb.Options(path=str(npz), num_words=num_words, skip_top=skip_top, index_from=index_from, maxlen=200)
    state = imdb.keras_state(options)
    ours = imdb.Imdb().examples(options, state, "train")
    assert [[int(i) for i in row if i] for row in ours.x] == [list(x) for x in x_train]
    assert list(ours.y) == list(y_train)

    texts = [text for text, _ in reviews(20, 1)]
    order = np.arange(len(texts))
    np.random.RandomState(113).shuffle(order)
    assert text.text_ids([texts[i] for i in order], state) == [list(x) for x in x_train]
    if not skip_top:
        the = sorted(index, key=index.get)[0]
        assert text.text_ids([the], state) == [[1, 1 + index_from]], "rank 1 must get id index_from + 1"
    assert imdb.Imdb().examples(options, state, "test").x.shape == (len(x_test), 200)


def test_saved_vocabulary_reproduces_predictions_in_a_new_process(tar_run: tuple[Path, Path], tmp_path: Path) -> None:
    config, archive = tar_run
    run_dir = load_config(config).run_dir
    here = {p.record["input"]: p.record["positive_probability"] for p in predict(run_dir, SENTENCES)}
    moved = archive.rename(tmp_path / "gone.tar.gz")
    try:
        inputs = tmp_path / "reviews.txt"
        inputs.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        done = subprocess.run(
            [sys.executable, "-m", "rnnlab", "predict", str(run_dir), "--input-file", str(inputs), "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        moved.rename(archive)
    assert done.returncode == 0, done.stderr
    there = {r["input"]: r["positive_probability"] for r in map(json.loads, done.stdout.splitlines())}
    assert there == pytest.approx(here, abs=1e-5)


def test_masked_padding_changes_nothing_the_model_computes() -> None:
    """With data.mask_padding a review scores the same padded to its own length or to maxlen, pre or post."""
    from rnnlab.model.builder import build_model

    options = imdb.Options(num_words=50, maxlen=30, bucket_by_length=True, mask_padding=True)
    config = load_config(PROJECT / "configs" / "imdb_lstm.yaml", ["model.units=8", "model.embedding_dim=4"])
    keras().utils.set_random_seed(0)
    model = build_model(config.model, imdb.task_spec(options))
    ids = [5, 9, 13, 7, 21]
    inputs = [np.array([x], dtype=np.int32) for x in (ids, [0] * 25 + ids, ids + [0] * 25)]
    scores = [float(np.asarray(model(x))[0, 0]) for x in inputs]
    assert scores == pytest.approx([scores[0]] * 3, abs=1e-6)
    unmasked = build_model(config.model, imdb.task_spec(options.model_copy(update={"mask_padding": False})))
    unmasked.set_weights(model.get_weights())
    assert abs(float(np.asarray(unmasked(inputs[1]))[0, 0]) - float(np.asarray(unmasked(inputs[0]))[0, 0])) > 1e-5


def test_masked_bilstm_answers_through_numpy_as_keras_does(tmp_path: Path) -> None:
    """The shipped imdb_bilstm masks its padding: the NumPy engine applies the mask too, so predict
    needs no TensorFlow and scores padded reviews as the Keras model does."""
    npz, _ = write_keras_npz(tmp_path / "cache" / "imdb.npz", per_class=60)
    config = shipped_config(
        "imdb_bilstm",
        tmp_path,
        experiment={"name": "bilstm"},
        data={"num_words": 120, "maxlen": 60, "path": str(npz)},
        model={"embedding_dim": 8, "units": 8},
        training={"epochs": 1, "batch_size": 32, "ema_momentum": None},
    )
    run = open_run(train(load_config(config), verbose=0).run_dir)
    assert run.config.data.mask_padding and run.config.model.bidirectional
    answerer = Answerer(run)
    answerer.answer(SENTENCES)
    assert answerer.backend == "numpy"
    padded = imdb.Imdb().examples(run.config.data, run.state, "test").x[:24]
    assert (padded == 0).any()
    np.testing.assert_allclose(RunPredictor(run, "numpy")(padded), RunPredictor(run, "keras")(padded), atol=1e-5)


def bucket_stream(options: imdb.Options, split: Split, *, shuffle: bool) -> Any:
    """The stream the trainer feeds Keras from the dataset's length buckets."""
    plan = imdb.Imdb().batches(options, split, batch_size=16, shuffle=shuffle, seed=1)
    assert plan is not None
    return plan_batches(plan, split.x.ndim)


def test_unmasked_buckets_compute_what_the_lesson_computes(npz_run: tuple[Path, Path]) -> None:
    """The shipped default: each batch is pad_sequences of its reviews to its own width, and the
    trained model scores it exactly as the lesson's Sequential (Embedding, LSTM, Dense) with its weights."""
    run = open_run(npz_run[0])
    model = load_saved_model(run.files)
    assert not run.config.data.mask_padding and not run.spec.mask_padding and run.spec.timesteps is None
    split = imdb.Imdb().examples(run.config.data, run.state, "test")
    x, _ = next(iter(bucket_stream(run.config.data, split, shuffle=True)))
    x = x.numpy()
    words = [row[row != 0].tolist() for row in x]
    assert np.array_equal(x, keras().utils.pad_sequences(words, maxlen=x.shape[1], padding="pre"))
    k = keras()
    lesson = k.Sequential(
        [k.Input(shape=(x.shape[1],)), k.layers.Embedding(120, 16), k.layers.LSTM(16), k.layers.Dense(1, activation="sigmoid")]
    )
    lesson.set_weights(model.get_weights())
    assert np.asarray(model(x)) == pytest.approx(np.asarray(lesson(x)), abs=1e-6)
    alone = predict(npz_run[0], SENTENCES[:1])[0].record["positive_probability"]
    together = predict(npz_run[0], SENTENCES[:2])[0].record["positive_probability"]
    assert alone == together, "a review's score must not depend on the other reviews predicted with it"


def test_bucketed_batches_pad_only_to_their_longest(npz_run: tuple[Path, Path]) -> None:
    run = open_run(npz_run[0])
    split = imdb.Imdb().examples(run.config.data, run.state, "train")
    lengths = sorted((split.x != 0).sum(axis=1))
    widths, cells, seen = [], 0, 0
    stream = bucket_stream(run.config.data, split, shuffle=True)
    assert int(stream.cardinality()) == sum(1 for _ in stream), "Keras is told the true number of batches"
    assert not stream.options().autotune.enabled, "an autotuned iterator stalls the end of each epoch (train/pipeline.py)"
    for x, y in stream:
        x = x.numpy()
        assert (x != 0).sum(axis=1).max() == x.shape[1] <= 60, "padded beyond the batch's longest review"
        assert (x[:, -1] != 0).all(), "padding goes before each review, as pad_sequences' default"
        widths.append(x.shape[1])
        cells, seen = cells + x.size, seen + len(x)
    assert seen == len(split) and max(widths) - min(widths) > 10
    assert cells < 0.8 * len(split) * max(lengths), "bucketing should cut most of the padding"
    labels_in_order = [np.concatenate([y.numpy() for _, y in stream]) for _ in range(2)]
    assert not np.array_equal(*labels_in_order), "each epoch reshuffles the batches"
    fixed = bucket_stream(run.config.data, split, shuffle=False)
    assert np.array_equal(*[np.concatenate([y.numpy() for _, y in fixed]) for _ in range(2)])


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def directory_options(path: Path) -> imdb.Options:
    return imdb.Options(source="directory", path=str(path), num_words=50, maxlen=40)


def test_missing_class_folder_is_named(tmp_path: Path) -> None:
    tree = write_acl_tree(tmp_path, per_class=5)
    for review in (tree / "train" / "neg").iterdir():
        review.unlink()
    (tree / "train" / "neg").rmdir()
    message = one_line_error(imdb.read_directory, directory_options(tmp_path))
    assert "no train/neg/*.txt reviews" in message and "train/pos, train/neg, test/pos and test/neg" in message


def test_empty_reviews_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tree = write_acl_tree(tmp_path, per_class=5)
    (tree / "train" / "pos" / "5_7.txt").write_text("  \n", encoding="utf-8")
    corpora = imdb.read_directory(directory_options(tree))
    assert len(corpora["train"].items) == 9 and list(corpora["train"].labels).count(1) == 4
    assert "skipped 1 empty review file(s) in train" in caplog.text and "5_7.txt" in caplog.text


def test_a_class_of_only_empty_reviews_is_refused(tmp_path: Path) -> None:
    tree = write_acl_tree(tmp_path, per_class=5)
    for review in (tree / "train" / "neg").iterdir():
        review.write_text("\n", encoding="utf-8")
    assert "every train/neg/*.txt review is empty" in one_line_error(imdb.read_directory, directory_options(tree))


def test_non_utf8_review_names_the_file(tmp_path: Path) -> None:
    tree = write_acl_tree(tmp_path, per_class=5)
    (tree / "test" / "neg" / "3_2.txt").write_bytes(b"caf\xe9 was awful")
    message = one_line_error(imdb.read_directory, directory_options(tree))
    assert "test/neg/3_2.txt: not UTF-8 text (byte 3)" in message


def test_tarball_is_read_in_memory(tmp_path: Path) -> None:
    tree = write_acl_tree(tmp_path / "tree", per_class=5)
    archive = tarball(tree, tmp_path / "data" / "acl.tar.gz")
    corpora = imdb.read_directory(directory_options(archive))
    assert len(corpora["train"].items) == 10 and len(corpora["test"].items) == 10
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["acl.tar.gz"]


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/abs_escape.txt", "aclImdb/../../train/pos/evil.txt"])
def test_tarball_with_a_member_escaping_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    tree = write_acl_tree(tmp_path / "tree", per_class=5)
    archive = tarball(tree, tmp_path / "data" / "acl.tar.gz", {name: b"great"})
    message = one_line_error(imdb.read_directory, directory_options(archive))
    assert f"member {name!r} points outside the archive's folder; refused" in message
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/abs_escape.txt").exists()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["acl.tar.gz"]


def test_unreadable_tarball_and_npz_give_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    assert "not a readable .tar.gz" in one_line_error(imdb.read_directory, directory_options(bad))
    assert "no such folder or file" in one_line_error(imdb.read_directory, directory_options(tmp_path / "nope"))
    assert "not a readable .npz" in one_line_error(imdb.read_npz, bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros(3))
    assert "no y_train, x_test, y_test inside" in one_line_error(imdb.read_npz, partial)


class _Gadget:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_npz_pickles_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    member = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    pickle.dump(_Gadget(marker), member)
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", member.getvalue())
        for name in ("y_train", "x_test", "y_test"):
            buffer = __import__("io").BytesIO()
            np.save(buffer, np.zeros(1, dtype=np.int64))
            archive.writestr(f"{name}.npy", buffer.getvalue())
    message = one_line_error(imdb.read_npz, path)
    assert "refused posix.system" in message and "only arrays of word-id lists" in message
    assert not marker.exists()


def test_npz_of_non_id_lists_is_refused(tmp_path: Path) -> None:
    words = np.empty(2, dtype=object)
    words[:] = [["great", "film"], [1, 2]]
    path = tmp_path / "words.npz"
    np.savez(path, x_train=words, y_train=np.array([1, 0]), x_test=words, y_test=np.array([1, 0]))
    assert "review 0 is not a list of non-negative word ids" in one_line_error(imdb.read_npz, path)


def test_offline_with_nothing_cached_says_where_and_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    def offline(*args: object, **kwargs: object) -> str:
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz: None")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(keras().utils, "get_file", offline)
    config = shipped_config("imdb_lstm", tmp_path)
    result = cli("train", str(config))
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.count("\n") == 0 and line.startswith("error: imdb.npz is not cached at ")
    assert str(tmp_path / "keras_home" / "datasets" / "imdb.npz") in line and "set data.path to a local" in line


def test_predict_reads_prefix_stdin_and_input_file(npz_run: tuple[Path, Path], cli, tmp_path: Path) -> None:
    config = str(npz_run[0])
    by_prefix = cli("predict", config, "--prefix", SENTENCES[0], "--prefix", SENTENCES[1])
    assert by_prefix.exit_code == 0, by_prefix.output
    lines = by_prefix.output.splitlines()
    assert [line.split()[0] for line in lines] == ["positive", "negative"]
    assert all(0.5 <= float(line.split()[1]) <= 1.0 for line in lines)
    by_stdin = cli("predict", config, input="superb actors\n\n!!!\ndreadful plot\n")
    assert by_stdin.exit_code == 2
    assert [line.split()[0] for line in by_stdin.stdout.splitlines()] == ["positive", "negative"]
    assert "review '!!!' has no words to read" in by_stdin.stderr
    reviews_file = tmp_path / "reviews.txt"
    reviews_file.write_text("\n".join(SENTENCES), encoding="utf-8")
    by_file = cli("predict", config, "--input-file", str(reviews_file), "--json")
    records = [json.loads(line) for line in by_file.stdout.splitlines()]
    assert [r["label"] for r in records] == ["positive", "negative", "positive", "negative"]
    assert records[0]["known_words"] >= 3


def test_predict_on_an_imdb_run_imports_no_tensorflow(npz_run: tuple[Path, Path]) -> None:
    """The plain-Python tokenizer and the NumPy engine answer an IMDB run (the lesson's bucketed LSTM)."""
    from tests.test_numpy_rnn import predict_in_a_new_process

    run_dir = load_config(npz_run[0]).run_dir
    lines = predict_in_a_new_process(run_dir, SENTENCES[0])
    assert lines[0] == predict(run_dir, SENTENCES[:1])[0].line and lines[0].startswith("positive ")
    assert lines[-1] == "TF_ABSENT"
