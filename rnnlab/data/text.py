"""Words → padded ids, the same way for training, evaluation and predict; folds and length buckets.

Shared by the datasets that read text word by word (``imdb``, ``text``). Tokenizing is Keras's
``TextVectorization`` re-implemented in plain Python, so ``predict`` never imports TensorFlow: one
standardization (lower case, ``<br />`` removed, punctuation split off except apostrophes inside
words: the shape of every word in Keras's IMDB word index), a split on whitespace, then a lookup
(0 padding, 1 out-of-vocabulary, the vocabulary from 2). ``tests/test_text.py`` holds it to Keras's
layer with the TensorFlow standardization below (``KERAS_STANDARDIZE``): the same ids, the same
learned vocabulary. Padding is Keras's ``pad_sequences`` rule in NumPy. A vocabulary is described by
a small ``state`` dict saved with the run (``vocab.json``): its words in id order and where the
special ids sit.
"""

from __future__ import annotations

import collections
import functools
import re
import unicodedata
from abc import abstractmethod
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol, cast

import numpy as np
from pydantic import Field

from rnnlab import progress
from rnnlab.data import classes
from rnnlab.data.contract import BatchPlan, Dataset, DatasetOptions, O, Prediction, Predictor, Prepared, Report, Split, TaskSpec
from rnnlab.errors import DataError

BUCKETS = 64
"""Length buckets per split: reviews of similar length are batched together."""

KERAS_STANDARDIZE = (r"<br\s*/?>", r"[^\p{L}\p{N}']+|\B'|'\B")
"""The two ``tf.strings.regex_replace`` patterns (RE2) applied after ``tf.strings.lower``, each
match becoming a space; ``words`` does exactly this without TensorFlow."""

_BREAK = re.compile(r"<br[\t\n\f\r ]*/?>")  # RE2's \s is [\t\n\f\r ]
_ASCII_DROP = re.compile(r"[^a-z0-9']+|(?<![a-z0-9_])'|'(?![a-z0-9_])")
"""The second pattern on lower-cased ASCII text: RE2's ``\b`` is an ASCII word boundary."""
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@functools.lru_cache(maxsize=1 << 16)
def _letter_or_number(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def standardized(text: str) -> str:
    """``tf.strings.lower`` then ``KERAS_STANDARDIZE``, in Python: a letter or number (Unicode ``L``,
    ``N``) stays, an apostrophe stays only between two ASCII word characters, the rest is a space."""
    text = _BREAK.sub(" ", text.lower())
    if text.isascii():
        return _ASCII_DROP.sub(" ", text)
    last = len(text) - 1
    kept = []
    for i, char in enumerate(text):
        if char == "'":
            keep = 0 < i < last and text[i - 1] in _ASCII_WORD and text[i + 1] in _ASCII_WORD
        else:
            keep = _letter_or_number(char)
        kept.append(char if keep else " ")
    return "".join(kept)


def words(text: str) -> list[str]:
    """A text's tokens as ``TextVectorization`` splits its standardized form (on whitespace)."""
    return standardized(text).split()


def learned_vocabulary(texts: list[str], num_words: int) -> list[str]:
    """The num_words - 2 commonest words of ``texts`` (ids 0 and 1 are padding and OOV), ordered as
    ``TextVectorization.adapt`` orders them: by count, ties by the word, both descending."""
    counts: collections.Counter[str] = collections.Counter()
    for text in progress.track(texts, "Learning the vocabulary"):
        counts.update(words(text))
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return [word for word, _ in ranked[: num_words - 2]]


def text_ids(texts: list[str], state: dict[str, Any]) -> list[list[int]]:
    """Raw texts → id lists as the vocabulary numbers them: words from ``first_id`` on, ``oov_id`` for
    the rest, ``start_id`` in front when set; ids outside [skip_top, num_words) become OOV (Keras's
    ``imdb.load_data`` rule)."""
    first, oov, start = state["first_id"], state["oov_id"], state["start_id"]
    lookup: dict[str, int] = {}
    for i, word in enumerate(state["vocabulary"]):
        lookup.setdefault(word, i + first)
    head = [start] if start is not None else []
    few = len(texts) < 1000  # a handful to predict: no bar flashing by (nor the 0.1 s of importing one)
    out = [
        head + [lookup.get(w, oov) for w in words(t)]
        for t in (texts if few else progress.track(texts, f"Tokenizing {len(texts):,} reviews"))
    ]
    if state["source"] == "keras":
        low, high = state["skip_top"], state["num_words"]
        out = [[i if low <= i < high else oov for i in ids] for ids in out]
    return out


def padded(ids: list[list[int]], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    """``keras.utils.pad_sequences(ids, maxlen, padding=, truncating=, value=0, dtype="int32")``."""
    out = np.zeros((len(ids), maxlen), dtype=np.int32)
    for row, seq in enumerate(ids):
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if not kept:
            continue
        if padding == "pre":
            out[row, maxlen - len(kept) :] = kept
        else:
            out[row, : len(kept)] = kept
    return out


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


def bucket_boundaries(lengths: np.ndarray) -> list[int]:
    """Edges that put about as many texts in each of ``BUCKETS`` buckets."""
    edges = np.quantile(lengths, np.linspace(0, 1, BUCKETS + 1)[1:-1]).astype(int) + 1
    return sorted({int(e) for e in edges if e > 1})


def batch_rows(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Row indices of each batch: the texts ordered by length bucket (in random order within a
    bucket with ``rng``, reshuffled at each call; in file order without) and cut into full batches,
    which ``rng`` then shuffles. Cutting across bucket edges leaves one short batch, as the lesson has,
    rather than one per bucket."""
    bucket = np.searchsorted(bucket_boundaries(lengths), lengths, side="right")
    order = rng.permutation(len(lengths)) if rng else np.arange(len(lengths))
    order = order[np.argsort(bucket[order], kind="stable")]
    rows = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [rows[i] for i in rng.permutation(len(rows))] if rng else rows


def length_buckets(split: Split, *, batch_size: int, shuffle: bool, seed: int, padding: str) -> BatchPlan:
    """Similar-length batches, each padded only to its longest text, on the ``padding`` side: a batch
    is exactly ``pad_sequences`` of its texts to that width (a slice of the fully padded array), so an
    unmasked LSTM reads a few padding zeros where the lesson reads up to ``maxlen - 1``."""
    lengths = (split.x != 0).sum(axis=1)
    labels = split.y.astype(np.float32)
    rng = np.random.default_rng(seed) if shuffle else None

    def batches() -> Any:
        for rows in batch_rows(lengths, batch_size, rng):
            width = max(int(lengths[rows].max()), 1)
            columns = slice(-width, None) if padding == "pre" else slice(0, width)
            yield split.x[rows, columns], labels[rows]

    return BatchPlan(len(batch_rows(lengths, batch_size, None)), batches)


def outputs_by_length(model: Predictor, ids: list[list[int]], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    """Outputs (rows, units) of a length-bucketed model, each text read at its own length (up to
    ``maxlen``), as the longest text of its batch is read in training (unmasked, more padding would
    shift the state)."""
    lengths = np.array([min(len(row), maxlen) for row in ids])
    out: np.ndarray | None = None
    for width in np.unique(lengths):
        rows = np.flatnonzero(lengths == width)
        scored = np.asarray(model(padded([ids[i] for i in rows], int(width), padding, truncating)))
        out = np.empty((len(ids), scored.shape[-1])) if out is None else out
        out[rows] = scored.reshape(len(rows), -1)
    return out if out is not None else np.empty((0, 1))


# --- one pipeline for every text classifier (imdb, text): corpora in, everything else shared -------

SCORE_ROWS = 1024
"""Rows per model call when a whole split is scored (``report``, ``evaluate``)."""
ECHO = 60
"""Characters of an input echoed after its answer."""


class Shape(Protocol):
    """The keys every text classifier's options hold (declared once, below, for both)."""

    num_words: int
    maxlen: int
    padding: Literal["pre", "post"]
    truncating: Literal["pre", "post"]
    bucket_by_length: bool
    mask_padding: bool


Side = Literal["pre", "post"]
MaxLen = Annotated[int, Field(ge=1, description="texts are cut or padded to this many ids")]
Padding = Annotated[Side, Field(description="pad_sequences padding side")]
Truncating = Annotated[Side, Field(description="pad_sequences truncating side: pre keeps a long text's end, post its start")]
BucketByLength = Annotated[bool, Field(description="batch texts of similar length, padded only to their batch's longest")]
MaskPadding = Annotated[
    bool,
    Field(
        description="mask id 0 (Embedding mask_zero) instead of letting the recurrent layer read the padding as the lesson does"
    ),
]


class SequenceOptions(DatasetOptions):
    """The keys every dataset of word sequences shares: how its texts become padded rows of ids.
    (``dataset`` is declared here only so that it stays the first key of every subclass.)"""

    dataset: str
    maxlen: MaxLen = 500
    padding: Padding = "pre"
    truncating: Truncating = "pre"
    bucket_by_length: BucketByLength = False
    mask_padding: MaskPadding = False


@dataclass
class Corpus:
    """One split as read from the source: raw texts (or word-id lists, for Keras's imdb.npz) and
    each one's class index into the labels."""

    items: list[Any]
    labels: np.ndarray

    def subset(self, rows: np.ndarray) -> Corpus:
        return Corpus([self.items[i] for i in rows], self.labels[rows])


def task(options: Shape, count: int) -> TaskSpec:
    """Two labels → ``Dense(1, sigmoid)``; more → ``Dense(n, softmax)``."""
    return TaskSpec(
        kind="binary" if count == 2 else "classification",
        timesteps=None if options.bucket_by_length else options.maxlen,
        vocab_size=options.num_words,
        num_classes=None if count == 2 else count,
        mask_padding=options.mask_padding,
        padded=True,
    )


def class_probabilities(outputs: np.ndarray, count: int) -> np.ndarray:
    """(rows, classes): a sigmoid's P(second label) becomes [1 - p, p]."""
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    return np.concatenate([1 - outputs, outputs], axis=1) if count == 2 and outputs.shape[1] == 1 else outputs


def chosen(probabilities: np.ndarray) -> np.ndarray:
    """The answered class: the second of two from p ≥ 0.5, else the likeliest."""
    if probabilities.shape[1] == 2:
        return (probabilities[:, 1] >= 0.5).astype(np.int64)
    return np.argmax(probabilities, axis=1)


def split_outputs(model: Predictor, split: Split, options: Shape) -> np.ndarray:
    """The model's outputs for a whole padded split, ``SCORE_ROWS`` at a time; a bucketed model
    reads texts sorted by length, each call padded only to its longest, as it was trained."""
    lengths = (split.x != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable") if options.bucket_by_length else np.arange(len(split))
    out: np.ndarray | None = None
    for start in range(0, len(order), SCORE_ROWS):
        rows = order[start : start + SCORE_ROWS]
        x = split.x[rows]
        if options.bucket_by_length:
            width = max(int(lengths[rows].max()), 1)
            x = x[:, -width:] if options.padding == "pre" else x[:, :width]
        scored = np.asarray(model(x)).reshape(len(rows), -1)
        out = np.empty((len(split), scored.shape[1])) if out is None else out
        out[rows] = scored
    return out if out is not None else np.empty((0, 1))


def echo(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ECHO else flat[: ECHO - 1] + "…"


class TextClassifier(Dataset[O]):
    """Texts → one of a few labels. A subclass reads its source (``corpora``) and makes its
    vocabulary state (``new_state``); the folds, ids, padding, length buckets, predict, the per-class
    report, ``show`` and ``evaluate`` are this class's, the same for every text dataset."""

    noun = "text"
    """What one input is called in messages ("review" for IMDB)."""

    @abstractmethod
    def corpora(
        self, options: O, splits: tuple[str, ...], state: dict[str, Any] | None, seed: int
    ) -> tuple[dict[str, Corpus], list[str]]:
        """The ``splits`` asked for (of "train", "test"; a missing test split is left out) in the
        source's order, and the label names the class indices point into. ``state`` is a trained
        run's (``None`` while loading for training); ``seed`` is the experiment's."""

    @abstractmethod
    def new_state(self, options: O, fit: Corpus, labels: list[str], seed: int) -> dict[str, Any]:
        """The encoder state saved as ``vocab.json``, from the training fold only."""

    def labels(self, state: dict[str, Any]) -> list[str]:
        return [str(name) for name in state["labels"]]

    def ids(self, options: O, corpus: Corpus, state: dict[str, Any]) -> list[list[int]]:
        """The corpus's id lists (before padding): raw text through the vocabulary by default."""
        return text_ids(corpus.items, state)

    def encoded(self, options: O, corpus: Corpus, state: dict[str, Any]) -> Split:
        shape = cast(Shape, options)
        return Split(padded(self.ids(options, corpus, state), shape.maxlen, shape.padding, shape.truncating), corpus.labels)

    def load(self, options: O, *, seed: int, validation_split: float) -> Prepared:
        found, labels = self.corpora(options, ("train", "test"), None, seed)
        train = found["train"]
        fit_rows, val_rows = stratified_folds(train.labels, validation_split, seed)
        fit = train.subset(fit_rows)
        state = self.new_state(options, fit, labels, seed)
        test = found.get("test")
        return Prepared(
            spec=task(cast(Shape, options), len(labels)),
            train=self.encoded(options, fit, state),
            validation=self.encoded(options, train.subset(val_rows), state) if len(val_rows) else None,
            test=self.encoded(options, test, state) if test is not None else None,
            state=state,
        )

    def own_batches(self, options: O) -> bool:
        return cast(Shape, options).bucket_by_length

    def batches(self, options: O, split: Split, *, batch_size: int, shuffle: bool, seed: int) -> BatchPlan | None:
        """With ``bucket_by_length``, batches of similar-length texts (``length_buckets``)."""
        shape = cast(Shape, options)
        if not shape.bucket_by_length:
            return None
        return length_buckets(split, batch_size=batch_size, shuffle=shuffle, seed=seed, padding=shape.padding)

    def examples(self, options: O, state: dict[str, Any], split: str) -> Split:
        """A whole split in the source's order, encoded with a run's saved vocabulary."""
        found, _ = self.corpora(options, (split,), state, int(state.get("split_seed", 0)))
        if split not in found:
            raise DataError(f"dataset {self.name()!r}: this run has no {split} split (data.test_path or data.test_fraction)")
        return self.encoded(options, found[split], state)

    def decode(self, ids: np.ndarray, state: dict[str, Any]) -> str:
        return decode(ids, state)

    def label_name(self, label: int, state: dict[str, Any] | None = None) -> str:
        return self.labels(state)[int(label)] if state is not None else str(label)

    def probabilities(self, options: O, state: dict[str, Any], model: Predictor, ids: list[list[int]]) -> np.ndarray:
        """(inputs, classes): bucketed runs read each text at its own length, others at ``maxlen``."""
        shape = cast(Shape, options)
        if shape.bucket_by_length:
            outputs = outputs_by_length(model, ids, shape.maxlen, shape.padding, shape.truncating)
        else:
            outputs = np.asarray(model(padded(ids, shape.maxlen, shape.padding, shape.truncating)))
        return class_probabilities(outputs, len(self.labels(state)))

    def predict(
        self, options: O, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        inputs = [t.strip() for t in texts]
        ids = text_ids(inputs, state)
        special = (state["oov_id"], state["start_id"])
        for given, row in zip(inputs, ids):
            if not [i for i in row if i != state["start_id"]]:
                raise DataError(f"{self.noun} {given[:40]!r} has no words to read; give a sentence of words")
        labels = self.labels(state)
        probabilities = self.probabilities(options, state, model, ids)
        out = []
        for given, row, p, answer in zip(inputs, ids, probabilities, chosen(probabilities)):
            record: dict[str, Any] = {"input": given, "label": labels[answer], "probability": round(float(p[answer]), 6)}
            if len(labels) == 2:
                record[f"{labels[1]}_probability"] = round(float(p[1]), 6)
            record["probabilities"] = {name: round(float(q), 6) for name, q in zip(labels, p)}
            record["known_words"] = sum(1 for i in row if i not in special)
            out.append(Prediction(line=f"{labels[answer]} {p[answer]:.2f}  {echo(given)}", record=record))
        return out

    def classification(self, options: O, state: dict[str, Any], model: Predictor, split: Split, name: str) -> dict[str, Any]:
        """Per-class scores of ``model`` on a padded split (``classes.scores``)."""
        probabilities = class_probabilities(split_outputs(model, split, cast(Shape, options)), len(self.labels(state)))
        return classes.scores(split.y, chosen(probabilities), self.labels(state), name)

    def report(self, options: O, data: Prepared, model: Predictor) -> Report:
        """Accuracy, per-class precision/recall/F1/support, macro F1 and the majority baseline on the
        test split (else the validation split), with ``confusion.png``."""
        split, name = (data.test, "test") if data.test is not None else (data.validation, "validation")
        if split is None or not len(split):
            return Report()
        result = self.classification(options, data.state, model, split, name)
        return Report(
            metrics={"classification": result},
            lines=classes.table(result),
            figures={"confusion.png": classes.figure(result, f"{self.name()}: confusion matrix")},
        )
