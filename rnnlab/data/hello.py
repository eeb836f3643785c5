"""One output per time step (the lesson "循环神经网络(基础)"): "hello" → "ohlol".

Each character of ``source`` is labelled with the character at the same position of ``target``;
``source`` and ``target`` may also be lists of equally long pairs. The vocabulary is every
character of both sides, sorted ({e, h, l, o} for the lesson), saved with the run.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from rnnlab.data.chars import char_ids, quoted, unknown
from rnnlab.data.chars import vocabulary as chars_of
from rnnlab.data.contract import Dataset, DatasetOptions, Prediction, Predictor, Prepared, TaskSpec, prepared
from rnnlab.errors import DataError


class Options(DatasetOptions):
    dataset: Literal["hello"] = "hello"
    source: str | list[str] = Field("hello", description="input string(s), one label per character")
    target: str | list[str] = Field("ohlol", description="the label string(s), as long as their source")

    @model_validator(mode="after")
    def _pairs_line_up(self) -> Options:
        sources, targets = as_list(self.source), as_list(self.target)
        if not sources:
            raise ValueError("no source strings; give at least one, e.g. source: hello")
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} source string(s) but {len(targets)} target string(s); give one target per source")
        for s, t in zip(sources, targets):
            if not s or len(s) != len(t):
                raise ValueError(f"source {s!r} and target {t!r} must be non-empty and equally long (one label per character)")
        if len({len(s) for s in sources}) > 1:
            raise ValueError("all source strings must have the same length; pad or split them")
        return self


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def vocabulary(options: Options) -> list[str]:
    return chars_of("".join(as_list(options.source) + as_list(options.target)))


def encode(text: str, state: dict[str, Any]) -> np.ndarray:
    vocab: list[str] = state["vocab"]
    missing = unknown(text, vocab)
    if missing or not text:
        raise DataError(f"prefix {text!r}: {quoted(missing) or 'empty'} — use only this run's characters {''.join(vocab)!r}")
    return char_ids(text, vocab)


class Hello(Dataset[Options]):
    options_model = Options
    starter: ClassVar[dict[str, dict[str, Any]]] = {"training": {"learning_rate": 0.1, "batch_size": 1, "epochs": 30}}

    def spec(self, options: Options) -> TaskSpec:
        """Any length is accepted at predict time (``timesteps=None``): the layers share weights over steps."""
        size = len(vocabulary(options))
        return TaskSpec(kind="tagging", timesteps=None, vocab_size=size, num_classes=size)

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        vocab = vocabulary(options)
        x = np.stack([char_ids(s, vocab) for s in as_list(options.source)])
        y = np.stack([char_ids(t, vocab) for t in as_list(options.target)])
        return prepared(self.spec(options), x, y, validation_split=validation_split, seed=seed, state={"vocab": vocab})

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        out = []
        for text in (t.strip() for t in texts):
            probs = np.asarray(model(encode(text, state)[None, :]))[0]
            best = probs.argmax(axis=-1)
            answer = "".join(state["vocab"][i] for i in best)
            record = {
                "input": text,
                "output": answer,
                "probabilities": [round(float(p[i]), 6) for p, i in zip(probs, best)],
            }
            out.append(Prediction(line=f"{text} -> {answer}", record=record))
        return out
