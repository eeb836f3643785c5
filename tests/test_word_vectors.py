"""``model.embedding_init: ppmi``: word vectors from the training texts' own co-occurrences, the
Embedding a run starts from (the one line for a config where it has no effect: test_config)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shipped_config
from test_imdb import write_keras_npz

from rnnlab.config import load_config
from rnnlab.data import dataset
from rnnlab.model import word_vectors
from rnnlab.model.word_vectors import SCALE, ppmi_vectors
from rnnlab.run.files import RunFiles
from rnnlab.train.trainer import load_or_build


def topic_texts(topics: int, words_per_topic: int, rows: int, seed: int, pad: int = 10) -> np.ndarray:
    """Pre-padded rows, each drawn from one topic's words (ids from 1): words of a topic keep company."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(rows):
        first = 1 + (i % topics) * words_per_topic
        texts.append(np.concatenate([np.zeros(pad, int), rng.integers(first, first + words_per_topic, size=40)]))
    return np.array(texts)


def cosines(vectors: np.ndarray) -> np.ndarray:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def test_words_that_keep_company_get_similar_vectors() -> None:
    ids = topic_texts(topics=2, words_per_topic=10, rows=400, seed=0)
    similarity = cosines(ppmi_vectors(ids, 21, 4, skip=0, seed=1))
    first, second = slice(1, 11), slice(11, 21)
    assert similarity[first, first].mean() > 0.9 and similarity[second, second].mean() > 0.9
    assert abs(similarity[first, second].mean()) < 0.1


def test_padding_is_no_word_and_the_vectors_have_the_embeddings_spread() -> None:
    ids = topic_texts(topics=2, words_per_topic=10, rows=200, seed=0)
    skipped = ppmi_vectors(ids, 21, 4, skip=0, seed=1)
    assert not skipped[0].any()
    assert ppmi_vectors(ids, 21, 4, skip=None, seed=1)[0].any(), "without a padding id, 0 is a word like any other"
    assert skipped[1:].std() == pytest.approx(SCALE, rel=1e-5)
    assert skipped.dtype == np.float32


def test_a_word_never_seen_starts_at_zero_and_tiny_vocabularies_still_decompose() -> None:
    vectors = ppmi_vectors(np.array([[1, 2, 1, 2, 3]]), 6, 8, skip=0, seed=0)
    assert vectors.shape == (6, 8)
    assert not vectors[4:].any() and vectors[1:4].any()


def test_large_vocabularies_decompose_sparsely_to_the_same_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above DENSE_LIMIT words ARPACK finds the top singular vectors; they span what the exact SVD
    finds, so every pair of words has the same dot product either way (sign and order do not matter)."""
    ids = topic_texts(topics=4, words_per_topic=30, rows=600, seed=3)
    monkeypatch.setattr(word_vectors, "DENSE_LIMIT", 10_000)
    dense = ppmi_vectors(ids, 121, 4, skip=0, seed=2)
    monkeypatch.setattr(word_vectors, "DENSE_LIMIT", 10)
    sparse = ppmi_vectors(ids, 121, 4, skip=0, seed=2)
    np.testing.assert_allclose(sparse @ sparse.T, dense @ dense.T, atol=1e-5)
    np.testing.assert_array_equal(sparse, ppmi_vectors(ids, 121, 4, skip=0, seed=2))


def test_a_run_starts_its_embedding_from_the_training_split_alone(tmp_path: Path) -> None:
    npz, _ = write_keras_npz(tmp_path / "cache" / "imdb.npz", per_class=40)
    config = load_config(
        shipped_config(
            "imdb_bilstm",
            tmp_path,
            experiment={"name": "ppmi"},
            data={"num_words": 80, "maxlen": 40, "path": str(npz)},
            model={"embedding_dim": 6, "units": 4},
            training={"validation_split": 0.25},
        )
    )
    assert config.model.embedding_init == "ppmi", "the shipped imdb_bilstm starts from these vectors"
    data = dataset("imdb").load(config.data, seed=config.experiment.seed, validation_split=0.25)
    model, _ = load_or_build(config, data, RunFiles(tmp_path / "run"), fresh=True)
    started = model.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(started, ppmi_vectors(data.train.x, 80, 6, skip=0, seed=config.experiment.seed))
    assert data.validation is not None
    with_validation = np.concatenate([data.train.x, data.validation.x])
    assert not np.array_equal(started, ppmi_vectors(with_validation, 80, 6, skip=0, seed=config.experiment.seed))
