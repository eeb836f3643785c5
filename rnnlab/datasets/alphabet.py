"""The lesson's "abcde": a window of letters predicts the letter that follows, cyclically.

With ``window: 1`` the five samples are a→b, b→c, c→d, d→e, e→a; with ``window: 4`` they
are abcd→e, bcde→a, cdea→b, deab→c, eabc→d.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rnnlab.datasets.base import Prediction, Predictor, Prepared, Split, TaskSpec, shuffled_split
from rnnlab.errors import DataError


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: Literal["alphabet"] = "alphabet"
    letters: str = Field("abcde", description="the cycle of symbols to learn, each used once")
    window: int = Field(1, ge=1, description="how many letters the model reads to predict the next")

    @field_validator("letters")
    @classmethod
    def _distinct_letters(cls, letters: str) -> str:
        if len(letters) < 2:
            raise ValueError("needs at least 2 letters, e.g. 'abcde'")
        if len(set(letters)) != len(letters):
            repeated = sorted({c for c in letters if letters.count(c) > 1})
            raise ValueError(f"letters must be distinct; repeated: {''.join(repeated)!r}")
        return letters

    @model_validator(mode="after")
    def _window_fits(self) -> "Options":
        if self.window > len(self.letters):
            raise ValueError(
                f"window {self.window} is longer than the {len(self.letters)} letters "
                f"{self.letters!r}; use a window of at most {len(self.letters)}"
            )
        return self


def vocabulary(options: Options) -> list[str]:
    """Ids follow sorted order so they never depend on how the letters were typed."""
    return sorted(options.letters)


def spec(options: Options) -> TaskSpec:
    size = len(options.letters)
    return TaskSpec(kind="classification", timesteps=options.window, vocab_size=size, num_classes=size)


def samples(options: Options) -> tuple[list[str], list[str]]:
    """Every window of the cycle and the letter after it, as strings."""
    cycle, n = options.letters, len(options.letters)
    inputs = ["".join(cycle[(i + k) % n] for k in range(options.window)) for i in range(n)]
    targets = [cycle[(i + options.window) % n] for i in range(n)]
    return inputs, targets


def load(options: Options, *, seed: int, validation_split: float) -> Prepared:
    vocab = vocabulary(options)
    index = {c: i for i, c in enumerate(vocab)}
    inputs, targets = samples(options)
    x = np.array([[index[c] for c in text] for text in inputs], dtype=np.int32)
    y = np.array([index[c] for c in targets], dtype=np.int32)
    train, validation = shuffled_split(x, y, validation_split, seed)
    return Prepared(spec=spec(options), train=train, validation=validation, state={"vocab": vocab})


def encode(text: str, state: dict[str, Any], window: int) -> np.ndarray:
    vocab: list[str] = state["vocab"]
    unknown = sorted({c for c in text if c not in vocab})
    if unknown:
        raise DataError(
            f"prefix {text!r}: {', '.join(map(repr, unknown))} not in this run's letters "
            f"{''.join(vocab)!r}; use only those letters"
        )
    if len(text) != window:
        example = "".join(vocab[:window])
        raise DataError(
            f"prefix {text!r} has {len(text)} letter(s) but this run reads {window}; "
            f"give exactly {window}, e.g. --prefix {example}"
        )
    return np.array([vocab.index(c) for c in text], dtype=np.int32)


def predict(
    options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
) -> list[Prediction]:
    vocab: list[str] = state["vocab"]
    x = np.stack([encode(t.strip(), state, options.window) for t in texts])
    probs = model(x)
    out = []
    for text, p in zip(texts, probs):
        best = int(np.argmax(p))
        record = {
            "input": text.strip(),
            "output": vocab[best],
            "probability": round(float(p[best]), 6),
            "probabilities": {c: round(float(q), 6) for c, q in zip(vocab, p)},
        }
        out.append(Prediction(line=f"{text.strip()} -> {vocab[best]}", record=record))
    return out


__all__ = ["Options", "spec", "load", "predict", "Split"]
