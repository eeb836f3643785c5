"""A long dependency: the class is the letter a sequence starts with, followed by ``length`` noise steps.

Each sample is one letter of ``a, b, c, ...`` (``num_symbols`` of them: the label), then ``length``
noise tokens drawn uniformly that say nothing about it. The model reads the whole sequence and
answers at the end, so it must carry the first letter through ``length`` steps of noise.

- ``noise: letters`` (default): the noise is more letters of the same alphabet, so the first one is
  told apart by its place alone. A SimpleRNN adds every input into its state and cannot shut the
  later letters out; an LSTM's input gate can (write once, at the start) and its cell keeps the
  letter: the textbook case where the SimpleRNN's gradient vanishes on the way back.
- ``noise: digits``: the noise is digits 0-9, which a SimpleRNN learns to ignore by zeroing their
  input weights; it then remembers about as well as an LSTM.

Chance is ``1 / num_symbols``; the data are drawn from ``seed`` alone, so runs of different models
see the same samples.
"""

from __future__ import annotations

import string
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rnnlab.data.chars import char_ids, quoted, unknown
from rnnlab.data.contract import Dataset, DatasetOptions, Prediction, Predictor, Prepared, TaskSpec, prepared
from rnnlab.errors import DataError

DIGITS = string.digits


class Options(DatasetOptions):
    dataset: Literal["longdep"] = "longdep"
    length: int = Field(50, ge=1, le=10_000, description="noise steps after the letter to remember: how far back the answer lies")
    num_symbols: int = Field(8, ge=2, le=26, description="classes: the letters a, b, c, ... a sequence may start with")
    noise: Literal["letters", "digits"] = Field(
        "letters", description="letters: the noise is more letters (only the first counts); digits: 0-9, never a letter"
    )
    samples: int = Field(4000, ge=2, le=1_000_000, description="sequences drawn")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seeds the draw (independent of experiment.seed)")


def symbols(options: Options) -> str:
    return string.ascii_lowercase[: options.num_symbols]


def vocabulary(options: Options) -> list[str]:
    """The letters, after the digits when the noise is digits: sorted, so ids follow the characters."""
    return sorted(symbols(options) + (DIGITS if options.noise == "digits" else ""))


def sequences(options: Options) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (samples, 1 + length) and labels (samples,): the label's letter, then noise."""
    rng = np.random.default_rng(options.seed)
    labels = rng.integers(options.num_symbols, size=options.samples)
    offset = len(DIGITS) if options.noise == "digits" else 0  # the first letter's id
    kinds = len(DIGITS) if options.noise == "digits" else options.num_symbols
    noise = rng.integers(kinds, size=(options.samples, options.length))
    x = np.concatenate([offset + labels[:, None], noise], axis=1).astype(np.int32)
    return x, labels.astype(np.int32)


def encode(text: str, vocab: list[str], steps: int) -> np.ndarray:
    missing = unknown(text, vocab)
    if missing:
        raise DataError(f"input {text!r}: {quoted(missing)} not in this run's symbols {''.join(vocab)!r}; use only those")
    if len(text) != steps:
        first = next(c for c in vocab if c.isalpha())
        example = first + "".join(vocab[(7 * i) % len(vocab)] for i in range(1, steps))
        raise DataError(
            f"input {text!r} has {len(text)} character(s) but this run reads {steps} (the letter to remember, then "
            f"{steps - 1} of noise); give exactly {steps}, e.g. --prefix {example}"
        )
    return char_ids(text, vocab)


class Longdep(Dataset[Options]):
    options_model = Options

    def spec(self, options: Options) -> TaskSpec:
        size = len(vocabulary(options))
        return TaskSpec(kind="classification", timesteps=options.length + 1, vocab_size=size, num_classes=options.num_symbols)

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        x, y = sequences(options)
        state = {"vocab": vocabulary(options), "symbols": symbols(options)}
        return prepared(self.spec(options), x, y, validation_split=validation_split, seed=seed, state=state)

    def decode(self, ids: np.ndarray, state: dict[str, Any]) -> str:
        return "".join(state["vocab"][int(i)] for i in ids)

    def label_name(self, label: int, state: dict[str, Any] | None = None) -> str:
        return str(state["symbols"][label]) if state else str(label)

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        """Which symbol each sequence started with, as the model remembers it."""
        vocab: list[str] = state["vocab"]
        steps = options.length + 1
        probs = model(np.stack([encode(t.strip(), vocab, steps) for t in texts]))
        out = []
        for text, p in zip(texts, probs):
            best = int(np.argmax(p))
            answer = self.label_name(best, state)
            record = {
                "input": text.strip(),
                "output": answer,
                "probability": round(float(p[best]), 6),
                "probabilities": {self.label_name(i, state): round(float(q), 6) for i, q in enumerate(p)},
            }
            shown = text.strip() if len(text.strip()) <= 16 else text.strip()[:12] + "..."
            out.append(Prediction(line=f"{shown} -> {answer} {p[best]:.2f}", record=record))
        return out
