"""The lesson's "abcde": a window of letters predicts the letter that follows, cyclically.

With ``window: 1`` the five samples are a→b, b→c, c→d, d→e, e→a; with ``window: 4`` they
are abcd→e, bcde→a, cdea→b, deab→c, eabc→d.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from rnnlab.data.chars import char_ids, quoted, unknown
from rnnlab.data.contract import Dataset, DatasetOptions, Prediction, Predictor, Prepared, TaskSpec, prepared
from rnnlab.errors import DataError


class Options(DatasetOptions):
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
    def _window_fits(self) -> Options:
        if self.window > len(self.letters):
            raise ValueError(
                f"window {self.window} is longer than the {len(self.letters)} letters "
                f"{self.letters!r}; use a window of at most {len(self.letters)}"
            )
        return self


def vocabulary(options: Options) -> list[str]:
    """Ids follow sorted order so they never depend on how the letters were typed."""
    return sorted(options.letters)


def samples(options: Options) -> tuple[list[str], list[str]]:
    """Every window of the cycle and the letter after it, as strings."""
    cycle, n = options.letters, len(options.letters)
    inputs = ["".join(cycle[(i + k) % n] for k in range(options.window)) for i in range(n)]
    targets = [cycle[(i + options.window) % n] for i in range(n)]
    return inputs, targets


def encode(text: str, state: dict[str, Any], window: int) -> np.ndarray:
    vocab: list[str] = state["vocab"]
    missing = unknown(text, vocab)
    if missing:
        raise DataError(
            f"prefix {text!r}: {quoted(missing)} not in this run's letters {''.join(vocab)!r}; use only those letters"
        )
    if len(text) != window:
        example = "".join(vocab[:window])
        raise DataError(
            f"prefix {text!r} has {len(text)} letter(s) but this run reads {window}; "
            f"give exactly {window}, e.g. --prefix {example}"
        )
    return char_ids(text, vocab)


class Alphabet(Dataset[Options]):
    options_model = Options
    starter: ClassVar[dict[str, dict[str, Any]]] = {"training": {"learning_rate": 0.01, "epochs": 100}}

    def spec(self, options: Options) -> TaskSpec:
        size = len(options.letters)
        return TaskSpec(kind="classification", timesteps=options.window, vocab_size=size, num_classes=size)

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        vocab = vocabulary(options)
        inputs, targets = samples(options)
        x = np.stack([char_ids(text, vocab) for text in inputs])
        y = char_ids("".join(targets), vocab)
        return prepared(self.spec(options), x, y, validation_split=validation_split, seed=seed, state={"vocab": vocab})

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
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
