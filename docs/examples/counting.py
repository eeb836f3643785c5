"""Counting modulo n: a window of numbers predicts the one that follows ("3 4 5" → 6 when n = 7).

A dataset that lives outside rnnlab: a package registers it under the entry-point group
``rnnlab.datasets`` and rnnlab trains it from a config like any built-in one. The test
``tests/test_plugins.py`` installs exactly this file that way; ``docs/architecture.md`` walks
through it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from rnnlab.data.contract import Dataset, DatasetOptions, Prediction, Predictor, Prepared, TaskSpec, prepared
from rnnlab.errors import DataError


class Options(DatasetOptions):
    dataset: Literal["counting"] = "counting"
    modulo: int = Field(7, ge=2, le=1000, description="numbers run 0 … modulo-1, then wrap around")
    window: int = Field(3, ge=1, description="how many numbers the model reads to predict the next")


class Counting(Dataset[Options]):
    options_model = Options

    def spec(self, options: Options) -> TaskSpec:
        n = options.modulo
        return TaskSpec(kind="classification", timesteps=options.window, vocab_size=n, num_classes=n)

    def load(self, options: Options, *, seed: int, validation_split: float) -> Prepared:
        n, w = options.modulo, options.window
        x = np.array([[(i + k) % n for k in range(w)] for i in range(n)], dtype=np.int32)
        y = np.array([(i + w) % n for i in range(n)], dtype=np.int32)
        return prepared(self.spec(options), x, y, validation_split=validation_split, seed=seed, state={"modulo": n})

    def predict(
        self, options: Options, state: dict[str, Any], model: Predictor, texts: list[str], params: dict[str, Any]
    ) -> list[Prediction]:
        rows = [self.encode(text, options) for text in texts]
        probs = model(np.array(rows, dtype=np.int32))
        out = []
        for text, p in zip(texts, probs):
            best = int(np.argmax(p))
            record = {"input": text.strip(), "output": best, "probability": round(float(p[best]), 6)}
            out.append(Prediction(line=f"{text.strip()} -> {best}", record=record))
        return out

    def encode(self, text: str, options: Options) -> list[int]:
        try:
            numbers = [int(word) for word in text.split()]
        except ValueError:
            raise DataError(f"prefix {text!r}: give {options.window} whole numbers separated by spaces, e.g. 3 4 5") from None
        if len(numbers) != options.window or not all(0 <= v < options.modulo for v in numbers):
            raise DataError(f"prefix {text!r}: give {options.window} numbers from 0 to {options.modulo - 1}, e.g. 3 4 5")
        return numbers
