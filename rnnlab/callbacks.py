"""Keras callbacks that make a run survive faults: atomic checkpoints, a resumable backup, per-epoch
seeds, and a stop request that lets the epoch in progress finish and be saved.

Imported only from inside training functions (it imports Keras at module level), so
``rnnlab --help`` stays free of TensorFlow.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import fileio
from rnnlab.artifacts import RunFiles
from rnnlab.config import Config
from rnnlab.errors import RunError
from rnnlab.runtime import keras

k = keras()

EPOCH_DELAY_ENV = "RNNLAB_EPOCH_DELAY"
BACKUP_STATE = "state.json"


class AtomicModelCheckpoint(k.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` (best epoch, weights only) that writes to a temporary file and renames
    it, so a crash (or a full disk) mid-save never leaves a corrupt ``best.weights.h5``.

    With ``interval_s`` > 0 a new best epoch is written only when that many seconds have passed
    since the last write; meanwhile its weights wait in memory, and they are written when a stop
    is requested and when training ends. Like the backup, the file then lags a crash by at most
    ``interval_s``, and epochs of a fraction of a second do not spend a sixth of their time saving.
    """

    def __init__(self, filepath: Path, *, interval_s: float = 0.0, requested: Any = lambda: False, **kwargs: Any) -> None:
        super().__init__(str(filepath), **kwargs)
        self.interval_s = interval_s
        self.requested = requested
        self.written_at = -math.inf
        self.pending: list[np.ndarray] | None = None

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        improved = self._should_save_model(epoch, batch, logs, self.filepath)
        due = time.monotonic() - self.written_at >= self.interval_s or self.requested()
        if improved and due:
            self._write()
        elif improved:
            self.pending = self.model.get_weights()
        elif due and self.pending is not None:
            self._write_pending()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.pending is not None:
            self._write_pending()

    def _write(self) -> None:
        fileio.write_with(Path(self.filepath), lambda tmp: self.model.save_weights(tmp))
        self.written_at = time.monotonic()
        self.pending = None

    def _write_pending(self) -> None:
        """Write the best epoch's weights held in memory; the model's own are put back after."""
        with weights_kept(self.model):
            self.model.set_weights(self.pending)
            self._write()


class ResumedEarlyStopping(k.callbacks.EarlyStopping):
    """``EarlyStopping`` that goes on counting across an interruption.

    A resumed ``fit`` gets a new callback, which would forget the epochs done before the
    interruption: its patience would start over, and ``restore_best_weights`` would end the run
    on the best epoch *after* the restart. This one first replays ``done``, the monitored values
    of those epochs (from ``history.csv``), and when the best epoch is among them takes its weights
    from ``best_file`` (``best.weights.h5``, kept for the same monitor), so the run stops, and ends
    with the weights, as an uninterrupted run would.
    """

    def __init__(self, *, done: list[float], best_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done = done
        self.best_file = best_file

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if not self.done:
            return
        if self.monitor_op is None:
            self._set_monitor_op()
        for value in self.done:
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best = value
                if self.baseline is None or self._is_improvement(value, self.baseline):
                    self.wait = 0
        if self.restore_best_weights and self.best_file is not None and self.best_file.is_file():
            self.best_weights = weights_in(self.model, self.best_file)


def weights_in(model: Any, path: Path) -> list[np.ndarray]:
    """The weights a file holds, read through ``model`` and leaving its own as they were."""
    with weights_kept(model):
        model.load_weights(path)
        return model.get_weights()


@contextlib.contextmanager
def weights_kept(model: Any) -> Iterator[None]:
    """Whatever the block does to ``model``'s weights is undone when it ends."""
    live = model.get_weights()
    try:
        yield
    finally:
        model.set_weights(live)


class EpochBackup(k.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose backup is consistent at every instant: the weights (with the
    optimizer state) go to a new file named for their epoch, then ``state.json`` is renamed to point
    at it, then the older file is removed. Keras's own writes both files in place, so a ``kill -9``
    between them pairs one epoch's weights with another's epoch number.

    The backup is kept when ``fit`` returns; the trainer removes it once every artifact is written,
    so a crash while writing them still resumes instead of starting over.

    With ``interval_s`` > 0 an epoch is backed up only when that many seconds have passed since the
    last backup (or a stop was requested): epochs of a fraction of a second would otherwise spend a
    large share of their time writing, and a crash loses at most ``interval_s`` of training.
    """

    def __init__(self, backup_dir: Path, interval_s: float = 0.0, requested: Any = lambda: False) -> None:
        super().__init__(str(backup_dir), delete_checkpoint=False)
        self.folder = Path(backup_dir)
        self.interval_s = interval_s
        self.requested = requested
        self.saved_at = -math.inf

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        state = backup_state(self.folder)
        if not state:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(self.folder / state["weights"])
        except Exception as exc:  # noqa: BLE001 - any unreadable backup gets the same advice
            raise RunError(
                f"{self.folder}: the training backup cannot be read ({type(exc).__name__}); "
                "pass --fresh to start over"
            ) from None
        self.model._initial_epoch = int(state["epoch"])

    def _save_model(self) -> None:
        if time.monotonic() - self.saved_at < self.interval_s and not self.requested():
            return
        self.saved_at = time.monotonic()
        epoch = self._current_epoch
        weights = f"epoch-{epoch}.weights.h5"
        previous = backup_state(self.folder).get("weights")
        fileio.write_with(self.folder / weights, lambda tmp: self.model.save_weights(tmp))
        fileio.write_json(self.folder / BACKUP_STATE, {"epoch": epoch, "weights": weights})
        if previous and previous != weights:
            (self.folder / previous).unlink(missing_ok=True)


def backup_state(folder: Path) -> dict[str, Any]:
    """The backup's last saved epoch and weights file, or ``{}`` when there is no usable backup."""
    try:
        state = json.loads((Path(folder) / BACKUP_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or not (Path(folder) / str(state.get("weights"))).is_file():
        return {}
    return state


def backup_epoch(folder: Path) -> int:
    return int(backup_state(folder).get("epoch", 0))


class EpochSeeds(k.callbacks.Callback):
    """Reset every dropout ``SeedGenerator`` to a state derived from (seed, epoch) at each epoch's
    start. Their state is not part of the saved weights, so without this a resumed run would draw
    different dropout masks than an uninterrupted one."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for index, variable in enumerate(v for v in self.model.variables if v.path.endswith("seed_generator_state")):
            digest = hashlib.sha256(f"{self.seed}:{index}".encode()).digest()
            start = int.from_bytes(digest[:4], "little") % (2**31 - 1)
            variable.assign(np.array([start, epoch * 1_000_003], dtype=variable.dtype))


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


def fault_callbacks(config: Config, files: RunFiles, stop: Any) -> list[Any]:
    """Appended after the trainer's own callbacks: the backup must see every other callback's
    epoch end (history row, best checkpoint) before it records the epoch as done."""
    delay = epoch_delay()
    slow = [SlowEpochs(delay)] if delay else []
    return [EpochSeeds(config.experiment.seed), *slow, EpochBackup(files.backup, config.training.backup_interval_s, stop),
            StopAfterEpoch(stop)]


def resume_epoch(files: RunFiles, initial_epoch: int) -> int:
    """The epoch training restarts at: the backup's, if an interrupted run left one beyond
    ``initial_epoch``. ``history.csv`` is cut back to that many rows, dropping an epoch that was
    logged but not backed up (or half a row) when the process was killed."""
    saved = backup_epoch(files.backup)
    if saved <= initial_epoch:
        shutil.rmtree(files.backup, ignore_errors=True)
        saved = initial_epoch
    trim_history(files.history, saved)
    return saved


def trim_history(path: Path, epochs: int) -> None:
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    kept = [lines[0]] + [
        line for line in lines[1:] if line.endswith("\n") and _epoch_of(line) is not None and _epoch_of(line) < epochs
    ]
    if len(kept) != len(lines):
        fileio.write_text(path, "".join(kept))


def _epoch_of(line: str) -> int | None:
    try:
        return int(next(csv.reader(io.StringIO(line)))[0])
    except (StopIteration, ValueError, IndexError):
        return None


def best_so_far(history: Path, monitor: str, mode: str) -> float | None:
    """The best ``monitor`` value already in ``history.csv``, so a continued or resumed run only
    replaces ``best.weights.h5`` with a better epoch."""
    if not history.is_file():
        return None
    with history.open(newline="", encoding="utf-8", errors="replace") as f:
        values = []
        for row in csv.DictReader(f):
            try:
                values.append(float(row.get(monitor) or "nan"))
            except ValueError:
                continue
    return best_value(values, mode)


def best_value(values: list[float], mode: str) -> float | None:
    """The best finite value (largest for ``mode`` "max", else smallest); ``None`` when there is none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if mode == "max" else min(finite)
