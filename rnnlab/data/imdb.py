"""IMDB sentiment: a review's words → positive or negative, as in the lesson's Embedding + LSTM.

Two sources give the same kind of arrays (word ids, padded to ``maxlen``):

- ``source: keras``: Keras's ``imdb.npz`` (downloaded and cached by ``keras.utils.get_file``, or a
  local copy at ``path``) with its word index; ids follow ``keras.datasets.imdb.load_data`` exactly
  (0 pad, 1 start, 2 out-of-vocabulary, word of rank r → r + index_from, ids ≥ num_words → 2).
- ``source: directory``: an ``aclImdb`` folder or its ``.tar.gz`` of raw reviews; a vocabulary of
  ``num_words`` is learned by ``TextVectorization`` on the training fold only.

Either way the vocabulary is saved with the run, so ``predict`` reads raw text with no data present.
Raw text is standardized one way for both (lower case, ``<br />`` removed, punctuation split off
except apostrophes inside words: the shape of every word in Keras's word index).
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from rnnlab import fetch, progress
from rnnlab.data import text
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import DataError

log = logging.getLogger("rnnlab")

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_NPZ_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
KERAS_WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"
LOAD_DATA_SEED = 113
START, OOV = 1, 2
LABELS = ("neg", "pos")
LABEL_NAMES = ["negative", "positive"]
SPLITS = ("train", "test")


class Options(text.SequenceOptions):
    dataset: Literal["imdb"] = "imdb"
    source: Literal["keras", "directory"] = Field("keras", description="keras: imdb.npz word ids; directory: aclImdb raw text")
    path: str | None = Field(None, description="local imdb.npz (keras) or aclImdb folder / .tar.gz (directory)")
    word_index: str | None = Field(None, description="word index json for source keras; default: next to path, else Keras's")
    num_words: int = Field(10000, ge=4, description="vocabulary size: ids ≥ num_words become out-of-vocabulary")
    skip_top: int = Field(0, ge=0, description="source keras: the most frequent ids below this become out-of-vocabulary")
    index_from: int = Field(3, ge=0, description="source keras: a word of rank r gets id r + index_from")

    @model_validator(mode="after")
    def _sources_need(self) -> Options:
        if self.source == "directory" and not self.path:
            raise ValueError("source 'directory' needs data.path: an aclImdb folder or aclImdb_*.tar.gz")
        if self.source == "keras" and self.num_words <= self.index_from + 1:
            raise ValueError(f"num_words {self.num_words} leaves no word ids above index_from {self.index_from}; raise it")
        return self


Corpus = text.Corpus
"""One split as read from the source: id lists (keras) or raw texts (directory), labels 0/1."""


def task_spec(options: Options) -> TaskSpec:
    return text.task(options, len(LABEL_NAMES))


# --- reading Keras-layout npz files without trusting their pickles ----------------------------


def _id_lists(array: Any, where: str) -> list[list[int]]:
    """Each review as a list of non-negative ints, or a DataError naming the bad one."""
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise DataError(f"{where}: expected a 1-D array of reviews (lists of word ids)")
    out = []
    for i, review in enumerate(array):
        ids = np.asarray(review)
        if ids.ndim != 1 or (ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0)):
            raise DataError(f"{where}: review {i} is not a list of non-negative word ids")
        out.append(ids.astype(np.int64).tolist())
    return out


def read_npz(path: Path) -> dict[str, Corpus]:
    """x_/y_ train/test of a Keras-layout imdb.npz, ranks as stored (before load_data's offsets)."""
    members = {name.removesuffix(".npy"): raw for name, raw in fetch.zip_members(path, what=".npz file").items()}
    needed = [f"{k}_{s}" for s in SPLITS for k in ("x", "y")]
    missing = [name for name in needed if name not in members]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} inside; expected Keras's layout (x_train, y_train, x_test, y_test)")
    corpora = {}
    for split in SPLITS:
        try:
            x, y = fetch.npy_array(members[f"x_{split}"]), fetch.npy_array(members[f"y_{split}"])
        except (ValueError, pickle.UnpicklingError, EOFError) as exc:
            raise DataError(
                f"{path}: x_{split}/y_{split} unreadable ({exc}); only arrays of word-id lists are accepted"
            ) from None
        ids = _id_lists(x, f"{path}: x_{split}")
        labels = np.asarray(y)
        if labels.shape != (len(ids),) or not np.isin(labels, (0, 1)).all():
            raise DataError(f"{path}: y_{split} must hold one 0/1 label per review in x_{split}")
        corpora[split] = Corpus(ids, labels.astype(np.int32))
    return corpora


def load_data_order(corpora: dict[str, Corpus]) -> dict[str, Corpus]:
    """The order ``load_data`` returns (its seed-113 shuffle), so review N is the lesson's x_train[N]."""
    rng = np.random.RandomState(LOAD_DATA_SEED)
    shuffled = {}
    for split in SPLITS:
        order = np.arange(len(corpora[split].items))
        rng.shuffle(order)
        shuffled[split] = Corpus([corpora[split].items[i] for i in order], corpora[split].labels[order])
    return shuffled


def keras_ids(ranks: list[int], options: Options) -> list[int]:
    """``load_data``'s rule for one review: start mark, ranks shifted by index_from, rare ids → OOV."""
    ids = [START] + [r + options.index_from for r in ranks]
    return [i if options.skip_top <= i < options.num_words else OOV for i in ids]


def download(name: str, file_hash: str) -> Path:
    """Keras's own cache or download (hash checked); offline with no copy → how to point data.path."""
    return fetch.download(
        name,
        KERAS_ORIGIN + name,
        file_hash,
        offline_fix="download it, or set data.path to a local Keras-layout imdb.npz (and data.word_index to its word index json)",
    )


def npz_path(options: Options) -> Path:
    if options.path is None:
        return download("imdb.npz", KERAS_NPZ_HASH)
    path = Path(options.path).expanduser()
    if not path.is_file():
        raise DataError(f"data.path {path}: file not found; point it at a Keras-layout imdb.npz")
    return path


def word_index_path(options: Options) -> Path:
    if options.word_index:
        path = Path(options.word_index).expanduser()
        if not path.is_file():
            raise DataError(f"data.word_index {path}: file not found; point it at imdb_word_index.json")
        return path
    if options.path:
        beside = Path(options.path).expanduser().with_name("imdb_word_index.json")
        if beside.is_file():
            return beside
    return download("imdb_word_index.json", KERAS_WORD_INDEX_HASH)


def ranked_words(options: Options) -> list[str]:
    """Words of rank 1, 2, … that get an id below num_words."""
    path = word_index_path(options)
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{path}: not a readable word index json ({type(exc).__name__}); point data.word_index at Keras's imdb_word_index.json"
        ) from None
    if not isinstance(index, dict) or not all(isinstance(r, int) and r >= 1 for r in index.values()):
        raise DataError(f"{path}: expected a JSON object mapping words to ranks 1, 2, …")
    by_rank = {rank: word for word, rank in index.items()}
    top = options.num_words - 1 - options.index_from
    return [by_rank.get(rank, f"[rank {rank}]") for rank in range(1, top + 1)]


# --- reading aclImdb folders and tarballs ------------------------------------------------------


def _review_key(parts: tuple[str, ...]) -> tuple[str, str] | None:
    if len(parts) >= 3 and parts[-3] in SPLITS and parts[-2] in LABELS and parts[-1].endswith(".txt"):
        return parts[-3], parts[-2]
    return None


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not UTF-8 text (byte {exc.start}); re-save the review as UTF-8 or remove it") from None


def _tar_reviews(path: Path, splits: tuple[str, ...]) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """Regular ``*/{train,test}/{pos,neg}/*.txt`` members, read in memory: nothing is extracted."""
    found: dict[tuple[str, str], list[tuple[str, bytes]]] = {}

    def wanted(member: PurePosixPath) -> bool:
        key = _review_key(member.parts)
        return key is not None and key[0] in splits

    for name, raw in fetch.tar_members(path, wanted, f"Reading {path.name}"):
        key = _review_key(PurePosixPath(name).parts)
        assert key is not None
        found.setdefault(key, []).append((f"{path}:{name}", raw))
    return found


def _folder_reviews(path: Path, splits: tuple[str, ...]) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    root = path / "aclImdb" if not (path / "train").is_dir() and (path / "aclImdb").is_dir() else path
    found = {}
    for split in splits:
        for label in LABELS:
            folder = root / split / label
            files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
            try:
                found[(split, label)] = [
                    (str(f), f.read_bytes()) for f in progress.track(files, f"Reading {split}/{label} reviews") if f.is_file()
                ]
            except OSError as exc:
                raise DataError(
                    f"{exc.filename}: cannot read this review ({exc.strerror}); fix its permissions or remove it"
                ) from None
    return found


def read_directory(options: Options, splits: tuple[str, ...] = SPLITS) -> dict[str, Corpus]:
    """Texts and labels per split, sorted by file name; empty reviews are skipped (and counted)."""
    path = Path(options.path or "").expanduser()
    if path.is_dir():
        found = _folder_reviews(path, splits)
    elif path.is_file():
        found = _tar_reviews(path, splits)
    else:
        raise DataError(f"data.path {path}: no such folder or file; give an aclImdb folder or aclImdb_*.tar.gz")
    corpora = {}
    for split in splits:
        texts, labels, skipped = [], [], []
        for label_id, label in enumerate(LABELS):
            reviews = sorted(found.get((split, label), []))
            if not reviews:
                raise DataError(
                    f"data.path {path}: no {split}/{label}/*.txt reviews; an aclImdb folder needs "
                    f"train/pos, train/neg, test/pos and test/neg with one review per .txt file"
                )
            decoded = [(where, _decode(raw, where)) for where, raw in reviews]
            kept = [text for _, text in decoded if text.strip()]
            skipped += [where for where, text in decoded if not text.strip()]
            if not kept:
                raise DataError(f"data.path {path}: every {split}/{label}/*.txt review is empty; put the review text in them")
            texts += kept
            labels += [label_id] * len(kept)
        if skipped:
            log.warning("skipped %d empty review file(s) in %s, e.g. %s", len(skipped), split, skipped[0])
        corpora[split] = Corpus(texts, np.array(labels, dtype=np.int32))
    return corpora


# --- the vocabulary state; everything after it is the text pipeline's (text.TextClassifier) ----


def keras_state(options: Options) -> dict[str, Any]:
    return {
        "source": "keras",
        "first_id": options.index_from + 1,
        "start_id": START,
        "oov_id": OOV,
        "skip_top": options.skip_top,
        "num_words": options.num_words,
        "vocabulary": ranked_words(options),
    }


def directory_state(options: Options, texts: list[str]) -> dict[str, Any]:
    return {
        "source": "directory",
        "first_id": 2,
        "start_id": None,
        "oov_id": 1,
        "skip_top": 0,
        "num_words": options.num_words,
        "vocabulary": text.learned_vocabulary(texts, options.num_words),
    }


def read_corpora(options: Options, splits: tuple[str, ...] = SPLITS) -> dict[str, Corpus]:
    if options.source == "keras":
        return load_data_order(read_npz(npz_path(options)))
    return read_directory(options, splits)


def label_name(label: int) -> str:
    return LABEL_NAMES[int(label)]


class Imdb(text.TextClassifier[Options]):
    """Keras's imdb.npz or an aclImdb folder in front of the shared text pipeline."""

    options_model = Options
    noun = "review"

    def spec(self, options: Options) -> TaskSpec:
        return task_spec(options)

    def corpora(
        self, options: Options, splits: tuple[str, ...], state: dict[str, Any] | None, seed: int
    ) -> tuple[dict[str, Corpus], list[str]]:
        found = read_corpora(options, splits)
        return {split: found[split] for split in splits}, LABEL_NAMES

    def new_state(self, options: Options, fit: Corpus, labels: list[str], seed: int) -> dict[str, Any]:
        return keras_state(options) if options.source == "keras" else directory_state(options, fit.items)

    def labels(self, state: dict[str, Any]) -> list[str]:
        return LABEL_NAMES

    def ids(self, options: Options, corpus: Corpus, state: dict[str, Any]) -> list[list[int]]:
        """``load_data``'s rule on the npz's word ranks; raw text through the vocabulary."""
        if options.source == "keras":
            return [keras_ids(ranks, options) for ranks in corpus.items]
        return text.text_ids(corpus.items, state)

    def label_name(self, label: int, state: dict[str, Any] | None = None) -> str:
        return label_name(label)
