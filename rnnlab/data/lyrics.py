"""A character-level language model on a text corpus (the lesson's Jay Chou lyrics by default).

The corpus becomes windows of ``num_steps`` characters, each target the window shifted by one.
``consecutive`` sampling (the lesson's adjacent sampling) lays the windows out so that row r of
batch i+1 continues row r of batch i, and the model is stateful: the hidden state flows across
batches and is reset at each epoch's start. ``random`` sampling shuffles independent windows and
starts every batch from a zero state. Perplexity, exp(mean cross-entropy per character), is
added to the logs every epoch.

The vocabulary is counted on the training part only: characters it holds fewer than ``min_count``
times, and those only the validation tail has, share one ``<unk>`` id, so the model learns how
likely "some rare character" is and its validation perplexity is honest (and comparable with the
unigram and bigram baselines, which use the same ids). Generation never emits ``<unk>``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rnnlab import fetch
from rnnlab.data.chars import UNKNOWN, char_ids, counted_vocabulary, quoted, unknown, unknown_id
from rnnlab.data.contract import Dataset, DatasetOptions, FitPlan, Prediction, Predictor, Prepared, Split, TaskSpec
from rnnlab.data.sampling import StepFn, generate
from rnnlab.errors import DataError

URL = "https://raw.githubusercontent.com/d2l-ai/d2l-zh/v1.0.0/data/jaychou_lyrics.txt.zip"
SHA256 = "3cfedd7d174111cdad5a27eaffaa6a2432a2842cf2590a03dd8a97610ea07043"


class Options(DatasetOptions):
    dataset: Literal["lyrics"] = "lyrics"
    path: str | None = Field(
        None, description="a .zip holding one text file, or a UTF-8 .txt; unset = download the lesson's corpus"
    )
    max_chars: int | None = Field(10000, ge=2, description="use the first N characters (the lesson: 10000); null = all")
    newline: Literal["space", "keep"] = Field("space", description="'space' replaces line breaks with spaces, as the lesson")
    num_steps: int = Field(35, ge=1, description="characters per training window (time steps)")
    sampling: Literal["consecutive", "random"] = Field(
        "consecutive", description="consecutive: batches continue each other, state carried; random: independent windows"
    )
    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="the tail of the corpus held out for validation")
    min_count: int = Field(
        2,
        ge=1,
        description="characters seen fewer times in the training part (and any only the validation tail has) share one <unk> id",
    )


def corpus_file(options: Options) -> Path:
    """The local corpus: ``data.path``, or the lesson's copy downloaded once into the Keras cache."""
    if options.path is not None:
        path = Path(options.path).expanduser()
        if path.is_dir():
            raise DataError(f"data.path {options.path}: is a folder; give the .zip or .txt file itself")
        if not path.exists():
            raise DataError(f"data.path {options.path}: no such file; give a .zip holding one text file or a UTF-8 .txt")
        return path
    return fetch.download(
        "jaychou_lyrics.txt.zip",
        URL,
        SHA256,
        offline_fix="pass a local copy with --set data.path=/path/to/jaychou_lyrics.txt.zip",
    )


def read_corpus(options: Options) -> str:
    """The text the model learns from: decoded, line breaks handled, cut to ``max_chars``."""
    path = corpus_file(options)
    raw = fetch.plain_or_single_member(path, fix="give a .zip holding one text file or a UTF-8 .txt")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); re-save the corpus as UTF-8") from None
    if options.newline == "space":
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = text[: options.max_chars] if options.max_chars is not None else text
    if not text.strip():
        raise DataError(f"{path}: the corpus is empty; give a file with text in it")
    return text


def windows(ids: np.ndarray, num_steps: int, where: str) -> Split:
    """Non-overlapping windows in corpus order; each target is its input shifted by one character."""
    count = (len(ids) - 1) // num_steps
    if count < 1:
        raise DataError(
            f"the {where} has {len(ids)} characters, fewer than one window of data.num_steps={num_steps} plus one; "
            "lower data.num_steps or use a longer corpus (data.max_chars: null for all of it)"
        )
    x = ids[: count * num_steps].reshape(count, num_steps)
    y = ids[1 : count * num_steps + 1].reshape(count, num_steps)
    return Split(x.astype(np.int32), y.astype(np.int32))


def consecutive(split: Split, batch_size: int, where: str) -> Split:
    """Reorder windows so that row r of batch i+1 is the text right after row r of batch i.

    The windows are in corpus order, so cutting them into ``batch_size`` runs of equal length and
    interleaving the runs gives exactly the lesson's adjacent batches.
    """
    per_row = len(split) // batch_size
    if per_row < 1:
        raise DataError(
            f"the {where} gives {len(split)} window(s) but consecutive sampling needs at least "
            f"training.batch_size={batch_size}; lower the batch size or data.num_steps, or use more text"
        )

    def interleave(a: np.ndarray) -> np.ndarray:
        steps = a.shape[1]
        return a[: batch_size * per_row].reshape(batch_size, per_row, steps).transpose(1, 0, 2).reshape(-1, steps)

    return Split(interleave(split.x), interleave(split.y))


def reset_states(model: Any) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


def add_perplexity(logs: dict[str, Any] | None) -> None:
    """Perplexity is exp of the mean per-character cross-entropy: Keras's loss here, or the
    ``cross_entropy`` metric when the loss is smoothed (``training.label_smoothing``)."""
    if logs is None:
        return
    for prefix in ("", "val_"):
        key = prefix + "cross_entropy" if prefix + "cross_entropy" in logs else prefix + "loss"
        if key in logs:
            logs[prefix + "perplexity"] = math.exp(min(float(logs[key]), 700.0))


def encode_prefix(text: str, vocab: list[str]) -> list[int]:
    """The prefix's ids; characters the vocabulary lacks are its ``<unk>``, or refused by a vocabulary
    without one (a run trained before ``min_count``)."""
    if not text:
        raise DataError(
            "empty prefix; give at least one character, e.g. --prefix " + "".join(c for c in vocab if c != UNKNOWN)[-2:]
        )
    missing = unknown(text, vocab)
    if missing and unknown_id(vocab) is None:
        raise DataError(
            f"prefix {text!r}: {quoted(missing)} not in this run's vocabulary of {len(vocab)} "
            "characters; use characters from the training corpus"
        )
    return char_ids(text, vocab).tolist()


def never_unknown(step: StepFn, unk: int | None) -> StepFn:
    """``step`` with the ``<unk>`` logit at minus infinity: greedy or sampled, generation picks a real character."""
    if unk is None:
        return step

    def masked(ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        logits, state = step(ids, state)
        logits = np.array(logits, dtype=np.float64)
        logits[:, unk] = -np.inf
        return logits, state

    return masked


class Lyrics(Dataset[Options]):
    options_model = Options

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        if validation_split > 0:
            raise DataError(
                "training.validation_split shuffles windows together; for lyrics hold out the corpus tail with "
                "data.validation_fraction instead"
            )
        text = read_corpus(options)
        cut = len(text) - int(round(len(text) * options.validation_fraction))
        vocab = counted_vocabulary(text[:cut], options.min_count)
        if len(set(text[:cut])) < 2:
            raise DataError(
                f"{options.path or 'the corpus'}: holds only the character {quoted(sorted(set(text[:cut])))}; a language "
                "model needs a text of at least two different characters"
            )
        ids = char_ids(text, vocab)
        train = windows(ids[:cut], options.num_steps, "training text")
        validation = windows(ids[cut:], options.num_steps, "validation tail") if cut < len(ids) else None
        task = TaskSpec(kind="language_model", timesteps=options.num_steps, vocab_size=len(vocab), num_classes=len(vocab))
        return Prepared(spec=task, train=train, validation=validation, state={"vocab": vocab})

    def fit_plan(self, options: Options, data: Prepared, *, batch_size: int) -> FitPlan:
        """Perplexity in the logs; consecutive sampling adds adjacent batches, a stateful model, states reset per epoch."""
        from rnnlab.runtime import keras

        callbacks = keras().callbacks
        perplexity = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: add_perplexity(logs))
        if options.sampling == "random":
            return FitPlan(data.train, data.validation, callbacks=[perplexity])
        train = consecutive(data.train, batch_size, "training text")
        validation = consecutive(data.validation, batch_size, "validation tail") if data.validation is not None else None
        resetter: Any = callbacks.LambdaCallback()
        resetter.on_epoch_begin = lambda epoch, logs=None: reset_states(resetter.model)
        resetter.on_test_begin = lambda logs=None: reset_states(resetter.model)
        return FitPlan(train, validation, shuffle=False, stateful_batch=batch_size, callbacks=[resetter, perplexity])

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        """Each prefix read into the state one character at a time (rare or unseen ones as ``<unk>``,
        listed in the record), then ``length`` characters generated through ``model.step``, so
        generation never re-reads its own text."""
        vocab: list[str] = state["vocab"]
        prefixes = [encode_prefix(text, vocab) for text in texts]
        step = never_unknown(model.step, unknown_id(vocab))
        out = []
        for text, prefix in zip(texts, prefixes):
            ids = generate(
                step,
                prefix,
                int(params.get("length", 50)),
                temperature=float(params.get("temperature", 0.0)),
                top_k=int(params.get("top_k", 0)),
                seed=params.get("seed"),
            )
            generated = "".join(vocab[i] for i in ids)
            record: dict[str, Any] = {"prefix": text, "generated": generated, "text": text + generated}
            if unknown(text, vocab):
                record["read_as_unk"] = unknown(text, vocab)
            out.append(Prediction(line=text + generated, record=record))
        return out
