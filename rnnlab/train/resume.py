"""Interrupt and resume: Ctrl-C and SIGTERM finish and save the epoch in progress, a killed run
resumes from its last backup, and a stop is reported as one line that says how to go on.

The first signal asks training to stop after the current epoch (whose end is backed up); a second
one stops at once, losing only that epoch. Either way ``rnnlab train`` on the same config resumes:
``resume_epoch`` finds the backup's epoch, ``EpochBackup`` loads its weights, and ``history.csv``
is cut back to the epochs the backup holds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rnnlab import atomic
from rnnlab.config import Config
from rnnlab.errors import Interrupted, RunError
from rnnlab.run.files import RunFiles
from rnnlab.runtime import keras

log = logging.getLogger("rnnlab")
if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EPOCH_DELAY_ENV = "RNNLAB_EPOCH_DELAY"
BACKUP_STATE = "state.json"


class StopRequest:
    """Set by the first Ctrl-C/SIGTERM; calling it says whether a stop was asked for."""

    def __init__(self) -> None:
        self.signals = 0

    def __call__(self) -> bool:
        return self.signals > 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            raise KeyboardInterrupt
        log.info(
            "%s: stopping after this epoch and saving it; send it again to stop now (losing this epoch).",
            signal.Signals(signum).name,
        )


@contextlib.contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Install the two-stage handlers for the block (main thread only) and restore the old ones."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, request.handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class EpochBackup(k.callbacks.Callback):
    """The resumable backup (Keras's ``BackupAndRestore`` job), consistent at every instant: the
    weights (with the optimizer state) go to a new file named for their epoch, then ``state.json``
    is renamed to point at it, then the older file is removed. Keras's own writes both files in
    place, so a ``kill -9`` between them pairs one epoch's weights with another's epoch number.

    On ``on_train_begin`` an interrupted run's weights are loaded back; the trainer starts ``fit``
    at the backup's epoch (``resume_epoch``).

    The backup is kept when ``fit`` returns; the trainer removes it once every artifact is written,
    so a crash while writing them still resumes instead of starting over.

    With ``interval_s`` > 0 an epoch is backed up only when that many seconds have passed since the
    last backup (or a stop was requested): epochs of a fraction of a second would otherwise spend a
    large share of their time writing, and a crash loses at most ``interval_s`` of training.
    """

    def __init__(self, backup_dir: Path, interval_s: float = 0.0, requested: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.folder = Path(backup_dir)
        self.interval_s = interval_s
        self.requested = requested
        self.saved_at = -math.inf

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        load_backup(self.model, self.folder)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if time.monotonic() - self.saved_at < self.interval_s and not self.requested():
            return
        self.saved_at = time.monotonic()
        self.save(epoch + 1)

    def save(self, epoch: int) -> None:
        """Back up the weights after ``epoch`` finished epochs."""
        weights = f"epoch-{epoch}.weights.h5"
        previous = backup_state(self.folder).get("weights")
        atomic.write_with(self.folder / weights, lambda tmp: self.model.save_weights(tmp))
        atomic.write_json(self.folder / BACKUP_STATE, {"epoch": epoch, "weights": weights})
        if previous and previous != weights:
            (self.folder / previous).unlink(missing_ok=True)


def load_backup(model: Any, folder: Path) -> None:
    """Put an interrupted run's backed-up weights (and optimizer state) into ``model``, if there are any.
    The trainer calls it once before writing anything, so a damaged backup is refused with the folder as it was."""
    state = backup_state(folder)
    if not state:
        return
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(Path(folder) / state["weights"])
    except Exception as exc:
        raise RunError(
            f"{folder}: the training backup cannot be read ({type(exc).__name__}); pass --fresh to start over"
        ) from None


def backup_state(folder: Path) -> dict[str, Any]:
    """The backup's last saved epoch and weights file, or ``{}`` when no epoch is backed up. The
    weights are named, never pointed at: a ``state.json`` naming a path, or a file that is not
    there, is a damaged backup and refused."""
    path = Path(folder) / BACKUP_STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        state = None
    damaged = RunError(f"{path}: not a backup state rnnlab wrote; pass --fresh to start over")
    if not isinstance(state, dict) or type(state.get("epoch")) is not int or state["epoch"] < 0:
        raise damaged
    weights = Path(folder) / str(state.get("weights"))
    if weights.name != state.get("weights") or not weights.name.endswith(".weights.h5"):
        raise damaged
    if weights.is_symlink() or not weights.is_file():
        raise RunError(f"{weights}: the backup's weights are missing or a link; pass --fresh to start over")
    return state


def backup_epoch(folder: Path) -> int:
    return int(backup_state(folder).get("epoch", 0))


class StopAfterEpoch(k.callbacks.Callback):
    """Ends training once the epoch in progress is over and backed up, when a stop was requested
    (Ctrl-C or SIGTERM). Must come after ``EpochBackup`` in the callback list."""

    def __init__(self, requested: Any) -> None:
        super().__init__()
        self.requested = requested

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.requested():
            raise StoppedAfterEpoch(epoch + 1)


class StoppedAfterEpoch(Exception):
    """Training stopped on request with ``epoch`` epochs saved in the backup."""

    def __init__(self, epoch: int) -> None:
        super().__init__(epoch)
        self.epoch = epoch


class SlowEpochs(k.callbacks.Callback):
    """Sleep ``RNNLAB_EPOCH_DELAY`` seconds at the start of each epoch: tests use it to interrupt
    a tiny model while an epoch is in progress."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        time.sleep(self.seconds)


def epoch_delay() -> float:
    try:
        return max(0.0, float(os.environ.get(EPOCH_DELAY_ENV, "0") or 0))
    except ValueError:
        return 0.0


def fault_callbacks(files: RunFiles, interval_s: float, stop: Callable[[], bool]) -> list[Any]:
    """Appended after the trainer's own callbacks: the backup must see every other callback's
    epoch end (history row, best checkpoint) before it records the epoch as done."""
    delay = epoch_delay()
    slow = [SlowEpochs(delay)] if delay else []
    return [*slow, EpochBackup(files.backup, interval_s, stop), StopAfterEpoch(stop)]


def resume_epoch(files: RunFiles, initial_epoch: int) -> int:
    """The epoch training restarts at: the backup's, if an interrupted run left one beyond
    ``initial_epoch``. ``history.csv`` is cut back to that many rows, dropping an epoch that was
    logged but not backed up (or half a row) when the process was killed."""
    saved = backup_epoch(files.backup)
    if saved <= initial_epoch:
        forget_epochs(files.backup)
        saved = initial_epoch
    trim_history(files.history, saved)
    return saved


def forget_epochs(folder: Path) -> None:
    """Drop the backup's epochs (none is beyond the run's own), keeping the marker of the training under way."""
    (folder / BACKUP_STATE).unlink(missing_ok=True)
    for weights in folder.glob("*.weights.h5"):
        weights.unlink(missing_ok=True)


def trim_history(path: Path, epochs: int) -> None:
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    kept = [lines[0]] + [line for line in lines[1:] if line.endswith("\n") and 0 <= _epoch_of(line) < epochs]
    if len(kept) != len(lines):
        atomic.write_text(path, "".join(kept))


def _epoch_of(line: str) -> int:
    """The row's 0-based epoch, or -1 for a line that is not a whole row."""
    try:
        return int(next(csv.reader(io.StringIO(line)))[0])
    except (StopIteration, ValueError, IndexError):
        return -1


@contextlib.contextmanager
def interrupted_as_error(config: Config, files: RunFiles) -> Iterator[None]:
    """Ctrl-C/SIGTERM → one ``Interrupted`` line saying what was saved and how to resume."""
    try:
        yield
    except (StoppedAfterEpoch, KeyboardInterrupt):
        saved = backup_epoch(files.backup)
        raise Interrupted(
            f"training of '{config.name}' interrupted; epochs 1-{saved} are saved in {files.backup} "
            f"(run `rnnlab train` on the same config to resume where it stopped, or pass --fresh to start over)"
            if saved
            else f"training of '{config.name}' interrupted before the first epoch ended; nothing to resume, "
            "run `rnnlab train` again to start over"
        ) from None
