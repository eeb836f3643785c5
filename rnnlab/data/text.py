"""Words → padded ids, the same way for training, evaluation and predict; folds and length buckets.

Shared by the datasets that read text word by word (IMDB today). Tokenizing is Keras's
``TextVectorization`` with one standardization (lower case, ``<br />`` removed, punctuation split
off except apostrophes inside words: the shape of every word in Keras's IMDB word index); padding
is Keras's ``pad_sequences``. A vocabulary is described by a small ``state`` dict saved with the
run (``vocab.json``): its words in id order and where the special ids sit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab import progress
from rnnlab.data.contract import BatchPlan, Predictor, Split
from rnnlab.runtime import keras, tensorflow

BUCKETS = 64
"""Length buckets per split: reviews of similar length are batched together."""


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
    """Raw texts → id lists as the vocabulary numbers them: words from ``first_id`` on, ``oov_id`` for
    the rest, ``start_id`` in front when set; ids outside [skip_top, num_words) become OOV (Keras's
    ``imdb.load_data`` rule)."""
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


def padded(ids: list[list[int]], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    return keras().utils.pad_sequences(ids, maxlen=maxlen, padding=padding, truncating=truncating, value=0, dtype="int32")


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


def scores_by_length(model: Predictor, ids: list[list[int]], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    """Outputs of a length-bucketed model, each text read at its own length (up to ``maxlen``), as the
    longest text of its batch is read in training (unmasked, more padding would shift the state)."""
    lengths = np.array([min(len(row), maxlen) for row in ids])
    out = np.empty(len(ids))
    for width in np.unique(lengths):
        rows = np.flatnonzero(lengths == width)
        batch = padded([ids[i] for i in rows], int(width), padding, truncating)
        out[rows] = np.asarray(model(batch)).reshape(-1)
    return out
