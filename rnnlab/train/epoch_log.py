"""``train --quiet`` and ``--log-every N``: one short line every N epochs instead of Keras's progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

AUTO_LINES = 50
"""In a pipe, a run of more epochs than this prints about this many lines."""


def auto_every(epochs: int) -> int:
    """Epochs per line in a pipe by default: every epoch for short runs, about ``AUTO_LINES`` lines for long ones."""
    return 1 if epochs <= AUTO_LINES else -(-epochs // AUTO_LINES)


def epoch_line(epoch: int, total: int, logs: dict[str, Any]) -> str:
    shown = " - ".join(f"{name}: {value:.4g}" for name, value in sorted(logs.items()) if isinstance(value, (int, float)))
    return f"epoch {epoch}/{total} - {shown}"


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
