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

import io
import json
import logging
import os
import pickle
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab import progress
from rnnlab.datasets.base import Prediction, Predictor, Prepared, Split, TaskSpec
from rnnlab.errors import DataError
from rnnlab.pipeline import untuned
from rnnlab.runtime import keras, tensorflow

log = logging.getLogger("rnnlab")

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_NPZ_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
KERAS_WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"
LOAD_DATA_SEED = 113
START, OOV = 1, 2
LABELS = ("neg", "pos")
SPLITS = ("train", "test")
BUCKETS = 64


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: Literal["imdb"] = "imdb"
    source: Literal["keras", "directory"] = Field("keras", description="keras: imdb.npz word ids; directory: aclImdb raw text")
    path: str | None = Field(None, description="local imdb.npz (keras) or aclImdb folder / .tar.gz (directory)")
    word_index: str | None = Field(None, description="word index json for source keras; default: next to path, else Keras's")
    num_words: int = Field(10000, ge=4, description="vocabulary size: ids ≥ num_words become out-of-vocabulary")
    skip_top: int = Field(0, ge=0, description="source keras: the most frequent ids below this become out-of-vocabulary")
    index_from: int = Field(3, ge=0, description="source keras: a word of rank r gets id r + index_from")
    maxlen: int = Field(500, ge=1, description="reviews are cut or padded to this many ids")
    padding: Literal["pre", "post"] = Field("pre", description="pad_sequences padding side")
    truncating: Literal["pre", "post"] = Field("pre", description="pad_sequences truncating side")
    bucket_by_length: bool = Field(False, description="batch reviews of similar length, padded only to their batch's longest")
    mask_padding: bool = Field(
        False, description="mask id 0 (Embedding mask_zero) instead of letting the LSTM read the padding as the lesson does"
    )

    @model_validator(mode="after")
    def _sources_need(self) -> "Options":
        if self.source == "directory" and not self.path:
            raise ValueError("source 'directory' needs data.path: an aclImdb folder or aclImdb_*.tar.gz")
        if self.source == "keras" and self.num_words <= self.index_from + 1:
            raise ValueError(f"num_words {self.num_words} leaves no word ids above index_from {self.index_from}; raise it")
        return self


@dataclass
class Corpus:
    """One split as read from the source: id lists (keras) or raw texts (directory), labels 0/1."""

    items: list[Any]
    labels: np.ndarray


def spec(options: Options) -> TaskSpec:
    timesteps = None if options.bucket_by_length else options.maxlen
    return TaskSpec(kind="binary", timesteps=timesteps, vocab_size=options.num_words, mask_padding=options.mask_padding)


# --- reading Keras-layout npz files without trusting their pickles ----------------------------


class _IdListUnpickler(pickle.Unpickler):
    """Admits only what an object array of id lists needs; nothing can run code."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def _npy_member(raw: bytes) -> np.ndarray:
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    header = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
    _, _, dtype = header(fp)
    if dtype != object:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    return _IdListUnpickler(fp).load()


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
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); point data.path at Keras's imdb.npz") from None
    needed = [f"{k}_{s}" for s in SPLITS for k in ("x", "y")]
    missing = [name for name in needed if name not in members]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} inside; expected Keras's layout (x_train, y_train, x_test, y_test)")
    corpora = {}
    for split in SPLITS:
        try:
            x, y = _npy_member(members[f"x_{split}"]), _npy_member(members[f"y_{split}"])
        except (ValueError, pickle.UnpicklingError, EOFError) as exc:
            raise DataError(f"{path}: x_{split}/y_{split} unreadable ({exc}); only arrays of word-id lists are accepted") from None
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


def keras_cache_file(name: str) -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / name


def fetch(name: str, file_hash: str) -> Path:
    """Keras's own cache or download (hash checked); offline with no copy → how to point data.path."""
    try:
        with progress.download_bar():
            return Path(keras().utils.get_file(name, origin=KERAS_ORIGIN + name, file_hash=file_hash))
    except Exception as exc:  # noqa: BLE001 - get_file raises bare Exception on network failure
        raise DataError(
            f"{name} is not cached at {keras_cache_file(name)} and downloading it failed ({str(exc).splitlines()[0]}); "
            f"download it, or set data.path to a local Keras-layout imdb.npz (and data.word_index to its word index json)"
        ) from None


def npz_path(options: Options) -> Path:
    if options.path is None:
        return fetch("imdb.npz", KERAS_NPZ_HASH)
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
    return fetch("imdb_word_index.json", KERAS_WORD_INDEX_HASH)


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


def _escapes(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return parts[:1] == ("/",) or ".." in parts


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
    """Regular ``*/{train,test}/{pos,neg}/*.txt`` members, read in memory: nothing is extracted.
    A member named outside the archive's folder (``../``, ``/``) means a broken or hostile
    tarball: it is refused as a whole rather than half read."""
    found: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    try:
        with tarfile.open(path, "r|*") as archive, progress.task(f"Reading {path.name}") as advance:
            for member in archive:
                advance(1)
                if _escapes(member.name):
                    raise DataError(
                        f"{path}: member {member.name!r} points outside the archive's folder; refused, nothing was read "
                        "(re-create the tarball from an aclImdb folder)"
                    )
                key = _review_key(PurePosixPath(member.name).parts)
                if member.isfile() and key and key[0] in splits:
                    handle = archive.extractfile(member)
                    found.setdefault(key, []).append((f"{path}:{member.name}", handle.read() if handle else b""))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .tar.gz ({exc}); give an aclImdb folder or its tarball") from None
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
                raise DataError(f"{exc.filename}: cannot read this review ({exc.strerror}); fix its permissions or remove it") from None
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


# --- text → ids, the same way for training, evaluation and predict ----------------------------


def standardize(text: Any) -> Any:
    """Lower case, no ``<br />``, punctuation split off but apostrophes inside words kept (don't, 80's)."""
    tf = tensorflow()
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, r"[^\p{L}\p{N}']+|\B'|'\B", " ")


def vectorizer(vocabulary: list[str] | None = None, max_tokens: int | None = None) -> Any:
    return keras().layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, output_mode="int", ragged=True, vocabulary=vocabulary
    )


def learned_vocabulary(texts: list[str], num_words: int) -> list[str]:
    """The num_words - 2 commonest words of ``texts`` (ids 0 and 1 are padding and OOV)."""
    tf = tensorflow()
    layer = vectorizer(max_tokens=num_words)
    batched = tf.data.Dataset.from_tensor_slices(texts).batch(1024)
    layer.adapt(progress.track(batched, "Learning the vocabulary", total=len(batched)))
    return [str(w) for w in layer.get_vocabulary()[2:]]


def text_ids(texts: list[str], state: dict[str, Any]) -> list[list[int]]:
    """Raw reviews → id lists as the run's source numbers them (keras: start mark and index_from)."""
    tf = tensorflow()
    layer = vectorizer(vocabulary=state["vocabulary"])
    first, oov, start = state["first_id"], state["oov_id"], state["start_id"]
    out: list[list[int]] = []
    batched = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024)
    few = len(batched) < 2  # a handful of reviews to predict: no bar flashing by
    for batch in progress.track(batched, f"Tokenizing {len(texts):,} reviews", total=len(batched), quiet=few):
        for row in layer(batch).to_list():
            ids = [oov if i == 1 else i - 2 + first for i in row]
            out.append(([start] if start is not None else []) + ids)
    if state["source"] == "keras":
        low, high = state["skip_top"], state["num_words"]
        out = [[i if low <= i < high else oov for i in ids] for ids in out]
    return out


def padded(ids: list[list[int]], options: Options, maxlen: int | None = None) -> np.ndarray:
    return keras().utils.pad_sequences(
        ids, maxlen=maxlen or options.maxlen, padding=options.padding, truncating=options.truncating, value=0, dtype="int32"
    )


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
        "vocabulary": learned_vocabulary(texts, options.num_words),
    }


def encoded(corpus: Corpus, options: Options, state: dict[str, Any]) -> Split:
    if options.source == "keras":
        ids = [keras_ids(ranks, options) for ranks in corpus.items]
    else:
        ids = text_ids(corpus.items, state)
    return Split(padded(ids, options), corpus.labels)


def read_corpora(options: Options, splits: tuple[str, ...] = SPLITS) -> dict[str, Corpus]:
    if options.source == "keras":
        return load_data_order(read_npz(npz_path(options)))
    return read_directory(options, splits)


def stratified_folds(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices holding out ``fraction`` of each class, shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    fit, validation = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(len(members) * fraction))
        validation.append(members[:n_val])
        fit.append(members[n_val:])
    return rng.permutation(np.concatenate(fit)), rng.permutation(np.concatenate(validation))


def subset(corpus: Corpus, rows: np.ndarray) -> Corpus:
    return Corpus([corpus.items[i] for i in rows], corpus.labels[rows])


def load(options: Options, *, seed: int, validation_split: float) -> Prepared:
    corpora = read_corpora(options)
    train = corpora["train"]
    fit_rows, val_rows = stratified_folds(train.labels, validation_split, seed)
    fit = subset(train, fit_rows)
    state = keras_state(options) if options.source == "keras" else directory_state(options, fit.items)
    validation = encoded(subset(train, val_rows), options, state) if len(val_rows) else None
    return Prepared(
        spec=spec(options),
        train=encoded(fit, options, state),
        validation=validation,
        test=encoded(corpora["test"], options, state),
        state=state,
    )


def examples(options: Options, state: dict[str, Any], split: str) -> Split:
    """A whole split in source order (load_data's for keras), encoded with a run's saved vocabulary."""
    return encoded(read_corpora(options, (split,))[split], options, state)


def decode(ids: np.ndarray, state: dict[str, Any]) -> str:
    """Ids back to words, as the lesson does with the reversed word index (padding left out)."""
    vocabulary, first = state["vocabulary"], state["first_id"]
    names = {state["oov_id"]: "[OOV]"}
    if state["start_id"] is not None:
        names[state["start_id"]] = "[START]"
    words = []
    for i in (int(i) for i in ids if i != 0):
        inside = 0 <= i - first < len(vocabulary)
        words.append(names.get(i) or (vocabulary[i - first] if inside else "?"))
    return " ".join(words)


def label_name(label: int) -> str:
    return ("negative", "positive")[int(label)]


# --- length buckets -----------------------------------------------------------------------------


def bucket_boundaries(lengths: np.ndarray) -> list[int]:
    """Edges that put about as many reviews in each of ``BUCKETS`` buckets."""
    edges = np.quantile(lengths, np.linspace(0, 1, BUCKETS + 1)[1:-1]).astype(int) + 1
    return sorted({int(e) for e in edges if e > 1})


def batch_rows(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Row indices of each batch: the reviews ordered by length bucket (in random order within a
    bucket with ``rng``, reshuffled at each call; in file order without) and cut into full batches,
    which ``rng`` then shuffles. Cutting across bucket edges leaves one short batch, as the lesson has,
    rather than one per bucket."""
    bucket = np.searchsorted(bucket_boundaries(lengths), lengths, side="right")
    order = rng.permutation(len(lengths)) if rng else np.arange(len(lengths))
    order = order[np.argsort(bucket[order], kind="stable")]
    rows = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [rows[i] for i in rng.permutation(len(rows))] if rng else rows


def batches(options: Options, split: Split, *, batch_size: int, shuffle: bool, seed: int) -> Any:
    """With ``bucket_by_length``, a prefetched ``tf.data`` stream of similar-length batches, each
    padded only to its longest review, on the ``padding`` side: a batch is exactly ``pad_sequences``
    of its reviews to that width (a slice of the maxlen-padded array), so the unmasked LSTM reads a
    few leading zeros where the lesson reads up to 499. ``None`` (plain padded arrays) otherwise."""
    if not options.bucket_by_length:
        return None
    tf = tensorflow()
    lengths = (split.x != 0).sum(axis=1)
    labels = split.y.astype(np.float32)
    rng = np.random.default_rng(seed) if shuffle else None
    count = len(batch_rows(lengths, batch_size, None))

    def stream() -> Any:
        for rows in batch_rows(lengths, batch_size, rng):
            width = max(int(lengths[rows].max()), 1)
            columns = slice(-width, None) if options.padding == "pre" else slice(0, width)
            yield split.x[rows, columns], labels[rows]

    signature = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.float32))
    data = tf.data.Dataset.from_generator(stream, output_signature=signature)
    return untuned(data.apply(tf.data.experimental.assert_cardinality(count)))


def scores(model: Predictor, ids: list[list[int]], options: Options) -> np.ndarray:
    """Positive probabilities. Bucketed runs read each review at its own length, as the longest of
    its batch is read in training (unmasked, more leading zeros would shift the state); others
    at ``maxlen`` like the lesson."""
    if not options.bucket_by_length:
        return np.asarray(model(padded(ids, options))).reshape(-1)
    lengths = np.array([min(len(row), options.maxlen) for row in ids])
    out = np.empty(len(ids))
    for width in np.unique(lengths):
        rows = np.flatnonzero(lengths == width)
        out[rows] = np.asarray(model(padded([ids[i] for i in rows], options, int(width)))).reshape(-1)
    return out


# --- predict ------------------------------------------------------------------------------------


def predict(
    options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
) -> list[Prediction]:
    reviews = [t.strip() for t in texts]
    ids = text_ids(reviews, state)
    for review, row in zip(reviews, ids):
        if not [i for i in row if i != state["start_id"]]:
            raise DataError(f"review {review[:40]!r} has no words to read; give a sentence of words")
    positive = scores(model, ids, options)
    out = []
    for review, row, p in zip(reviews, ids, positive):
        label = int(p >= 0.5)
        confidence = float(p if label else 1 - p)
        record = {
            "input": review,
            "label": label_name(label),
            "probability": round(confidence, 6),
            "positive_probability": round(float(p), 6),
            "known_words": sum(1 for i in row if i not in (state["oov_id"], state["start_id"])),
        }
        out.append(Prediction(line=f"{label_name(label)} {confidence:.2f}", record=record))
    return out


__all__ = ["Options", "spec", "load", "predict", "batches", "examples", "decode"]
