"""``train --quiet`` and ``--log-every N``: one short line every N epochs instead of Keras's progress,
and within long epochs a line with the batch and the loss so far every few seconds."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnlab.runtime import keras
from rnnlab.train.resume import step_in_epoch

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

AUTO_LINES = 50
"""In a pipe, a run of more epochs than this prints about this many lines."""


def auto_every(epochs: int) -> int:
    """Epochs per line in a pipe by default: every epoch for short runs, about ``AUTO_LINES`` lines for long ones."""
    return 1 if epochs <= AUTO_LINES else -(-epochs // AUTO_LINES)


def shown_metrics(logs: dict[str, Any]) -> str:
    return " - ".join(f"{name}: {value:.4g}" for name, value in sorted(logs.items()) if isinstance(value, (int, float)))


def epoch_line(epoch: int, total: int, logs: dict[str, Any]) -> str:
    return f"epoch {epoch}/{total} - {shown_metrics(logs)}"


def step_line(epoch: int, total: int, step: int, steps: int, logs: dict[str, Any]) -> str:
    """``epoch 3/10 step 1200/5000 - loss: 1.23``: where a long epoch is, and its loss so far."""
    return f"epoch {epoch}/{total} step {step}/{steps or '?'} - {shown_metrics(logs)}"


class EpochLines(k.callbacks.Callback):
    """Calls ``write`` with one line every ``every`` epochs, and for the last epoch."""

    def __init__(self, every: int, write: Callable[[str], None]) -> None:
        super().__init__()
        self.every = every
        self.write = write
        self.total = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.total = int(self.params.get("epochs") or 0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        done = epoch + 1
        if done % self.every == 0 or done == self.total:
            self.write(epoch_line(done, self.total, logs or {}))


class StepLines(k.callbacks.Callback):
    """Calls ``write`` with a ``step_line`` when ``interval_s`` seconds have passed without a line
    (or an epoch's end): where Keras's progress bar is off, a long epoch still shows it is moving.

    It runs at a batch's start and reads the loss so far from the model's metrics, so that no
    batch-end hook makes Keras wait for each batch's logs."""

    def __init__(self, interval_s: float, write: Callable[[str], None]) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.write = write
        self.last = -math.inf
        self.epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.last = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch == 0 or time.monotonic() - self.last < self.interval_s:
            return
        self.last = time.monotonic()
        params = self.params or {}
        done = {name: float(value) for name, value in self.model.get_metrics_result().items() if np.ndim(value) == 0}
        self.write(
            step_line(
                self.epoch + 1, int(params.get("epochs") or 0), step_in_epoch(params, batch), params.get("steps") or 0, done
            )
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.last = time.monotonic()
