"""Interrupt and resume: Ctrl-C and SIGTERM stop at the next batch with what was done saved, a
killed run resumes from its last backup, and a stop is reported as one line that says how to go on.

While ``fit`` runs, the first signal asks training to stop at the start of the next batch, after
saving a mid-epoch backup (the weights, the optimizer state and the per-batch state: dropout seeds,
a stateful RNN's states); a second one stops at once, losing what was not saved. Runs whose batches
cannot be resumed mid-epoch (a dataset's own batches, ``mirrored`` or ``multi_worker``) finish and
save the epoch in progress instead. Before and after ``fit`` (loading the data, writing the run
folder) a signal stops at once. SIGHUP (the terminal went away) is ignored: training carries on,
its output discarded, as under ``nohup``.

``rnnlab train`` on the same config resumes: ``resume_point`` finds the backup's epoch and step,
``EpochBackup`` loads its weights (and the per-batch state at the resumed epoch's start), the
trainer skips the batches already done, and ``history.csv`` is cut back to the epochs the backup
holds.
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
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnlab import atomic
from rnnlab.config import Config
from rnnlab.errors import Interrupted, RunError
from rnnlab.model.builder import unwrapped_layers
from rnnlab.run.files import RunFiles
from rnnlab.runtime import keras

log = logging.getLogger("rnnlab")
if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EPOCH_DELAY_ENV = "RNNLAB_EPOCH_DELAY"
STEP_DELAY_ENV = "RNNLAB_STEP_DELAY"
BACKUP_STATE = "state.json"
FIRST_STEP = "first_step"
"""The ``params`` key saying how many batches of the resumed epoch were done before this ``fit``."""


def step_in_epoch(params: dict[str, Any] | None, batch: int) -> int:
    """The batch's place in its epoch: Keras counts from 0 in the ``fit`` that resumes an epoch mid-way."""
    return batch + int((params or {}).get(FIRST_STEP) or 0)


class StopRequest:
    """Set by the first Ctrl-C/SIGTERM during ``fit``; calling it says whether a stop was asked for."""

    def __init__(self, at_batches: bool = True) -> None:
        self.signals = 0
        self.at_batches = at_batches

    def __call__(self) -> bool:
        return self.signals > 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            raise KeyboardInterrupt
        where = "at the next batch" if self.at_batches else "after this epoch"
        log.info(
            "%s: stopping %s and saving what is done; send it again to stop now (losing what was not saved).",
            signal.Signals(signum).name,
            where,
        )


def interrupt_now(signum: int, frame: FrameType | None) -> None:
    """Outside ``fit`` there is nothing to finish: stop at once."""
    raise KeyboardInterrupt


def hang_up(signum: int, frame: FrameType | None) -> None:
    log.info("SIGHUP: the terminal went away; training carries on (its output is discarded).")


@contextlib.contextmanager
def handlers(handler: Callable[[int, FrameType | None], Any]) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to ``handler`` and SIGHUP is ignored for the block (main thread only);
    the old handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    chosen = {sig: handler for sig in SIGNALS} | {signal.SIGHUP: hang_up}
    previous = {sig: signal.getsignal(sig) for sig in chosen}
    for sig, new in chosen.items():
        signal.signal(sig, new)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def interrupts_at_once() -> contextlib.AbstractContextManager[None]:
    """Around a whole ``train``: a signal while the data loads (or the run folder is written) stops it at once."""
    return handlers(interrupt_now)


@contextlib.contextmanager
def stop_requests(at_batches: bool = True) -> Iterator[StopRequest]:
    """Around ``fit``: the two-stage handlers. ``at_batches``: the run can stop (and resume) mid-epoch."""
    request = StopRequest(at_batches)
    with handlers(request.handle):
        yield request


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted run goes on: after ``epoch`` whole epochs and ``step`` batches of the next
    (of ``steps`` per epoch, as the backup counted them)."""

    epoch: int
    step: int = 0
    steps: int = 0


def carried_variables(model: Any) -> list[Any]:
    """What a batch changes besides the weights and the optimizer state (which the weights file
    holds): the dropout ``SeedGenerator`` states and a stateful RNN's states. A mid-epoch resume
    puts them back so that the remaining batches draw the masks, and start from the states, that
    an uninterrupted run's would."""
    saved = {id(v) for v in model.weights}
    seeds = [v for v in model.variables if id(v) not in saved]
    rnns = [
        rnn for rnn in unwrapped_layers(model) if getattr(rnn, "stateful", False) and getattr(rnn, "states", None) is not None
    ]
    return seeds + [state for rnn in rnns for state in k.tree.flatten(rnn.states)]


class EpochBackup(k.callbacks.Callback):
    """The resumable backup (Keras's ``BackupAndRestore`` job), consistent at every instant: the
    weights (with the optimizer state) go to a new file named for their epoch and step, then
    ``state.json`` is renamed to point at it, then the older files are removed. Keras's own writes
    both files in place, so a ``kill -9`` between them pairs one epoch's weights with another's
    epoch number; and it records the batch but resumes from the epoch's start, training those
    batches twice.

    On ``on_train_begin`` an interrupted run's weights are loaded back; the trainer starts ``fit``
    at the backup's epoch (``resume_point``) and, for a mid-epoch backup, after its batches, whose
    seed and RNN states (``carried_variables``) go back at that epoch's start, after the other
    callbacks have reset them.

    The backup is kept when ``fit`` returns; the trainer removes it once every artifact is written,
    so a crash while writing them still resumes instead of starting over.

    With ``interval_s`` > 0 a backup is written only when that many seconds have passed since the
    last one, at an epoch's end or, with ``mid_epoch``, at the start of a batch: epochs of a
    fraction of a second would otherwise spend a large share of their time writing, and a crash
    loses at most ``interval_s`` of training even inside a long epoch. With 0 it is written at every
    epoch's end. A stop request is always saved: at the next batch with ``mid_epoch``, else at the
    epoch's end.
    """

    def __init__(
        self,
        backup_dir: Path,
        interval_s: float = 0.0,
        requested: Callable[[], bool] = lambda: False,
        mid_epoch: bool = False,
    ) -> None:
        super().__init__()
        self.folder = Path(backup_dir)
        self.interval_s = interval_s
        self.requested = requested
        self.mid_epoch = mid_epoch
        self.saved_at = -math.inf
        self.epoch = 0
        self.resumed: dict[str, Any] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.resumed = load_backup(self.model, self.folder)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch
        if self.resumed.get("step") and epoch == self.resumed["epoch"]:
            with np.load(self.folder / self.resumed["carried"]) as saved:
                for index, variable in enumerate(carried_variables(self.model)):
                    variable.assign(saved[f"arr_{index}"])

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.mid_epoch and (self.requested() or (self.interval_s and self.due())):
            self.save(self.epoch, step_in_epoch(self.params, batch))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.due() or self.requested():
            self.save(epoch + 1)

    def due(self) -> bool:
        return time.monotonic() - self.saved_at >= self.interval_s

    def save(self, epoch: int, step: int = 0) -> None:
        """Back up the weights after ``epoch`` finished epochs and ``step`` batches of the next."""
        self.saved_at = time.monotonic()
        name = f"epoch-{epoch}" + (f"-step-{step}" if step else "")
        state: dict[str, Any] = {"epoch": epoch, "weights": f"{name}.weights.h5"}
        previous = backup_state(self.folder)
        atomic.write_with(self.folder / state["weights"], lambda tmp: self.model.save_weights(tmp))
        if step:
            state |= {"step": step, "steps": int((self.params or {}).get("steps") or 0), "carried": f"{name}.carried.npz"}
            values = [np.asarray(v.numpy()) for v in carried_variables(self.model)]
            atomic.write_with(self.folder / state["carried"], lambda tmp: np.savez(tmp, *values))
        atomic.write_json(self.folder / BACKUP_STATE, state)
        for key in ("weights", "carried"):
            if previous.get(key) and previous[key] != state.get(key):
                (self.folder / previous[key]).unlink(missing_ok=True)


def load_backup(model: Any, folder: Path) -> dict[str, Any]:
    """Put an interrupted run's backed-up weights (and optimizer state) into ``model`` and return the
    backup's state (``{}`` without one). The trainer calls it once before writing anything, so a
    damaged backup is refused with the folder as it was."""
    state = backup_state(folder)
    if not state:
        return state
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(Path(folder) / state["weights"])
    except Exception as exc:
        raise RunError(
            f"{folder}: the training backup cannot be read ({type(exc).__name__}); pass --fresh to start over"
        ) from None
    return state


def backup_state(folder: Path) -> dict[str, Any]:
    """The backup's last saved epoch (and step) and its files, or ``{}`` when no epoch is backed up.
    The files are named, never pointed at: a ``state.json`` naming a path, a wrong type, or a file
    that is not there is a damaged backup and refused."""
    path = Path(folder) / BACKUP_STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        state = None
    damaged = RunError(f"{path}: not a backup state rnnlab wrote; pass --fresh to start over")
    if not isinstance(state, dict) or not all(counts(state.get(key)) for key in ("epoch", "step", "steps")):
        raise damaged
    names = [("weights", ".weights.h5")] + ([("carried", ".carried.npz")] if state.get("step") else [])
    for key, suffix in names:
        name = state.get(key)
        if not isinstance(name, str) or Path(name).name != name or not name.endswith(suffix) or name.startswith("."):
            raise damaged
        if (Path(folder) / name).is_symlink() or not (Path(folder) / name).is_file():
            raise RunError(f"{Path(folder) / name}: the backup's weights are missing or a link; pass --fresh to start over")
    return state


def counts(value: Any) -> bool:
    """An epoch or batch count as ``state.json`` holds it: absent, or a non-negative int (not a bool)."""
    return value is None or (type(value) is int and value >= 0)


def backup_point(folder: Path) -> ResumePoint:
    state = backup_state(folder)
    return ResumePoint(int(state.get("epoch", 0)), int(state.get("step", 0)), int(state.get("steps", 0)))


def backup_epoch(folder: Path) -> int:
    return backup_point(folder).epoch


class StopOnRequest(k.callbacks.Callback):
    """Ends training once a stop was requested (Ctrl-C or SIGTERM) and ``EpochBackup`` saved what was
    done: at the start of the next batch with ``at_batches``, else at the epoch's end. Must come
    after ``EpochBackup`` in the callback list."""

    def __init__(self, requested: Callable[[], bool], at_batches: bool = False) -> None:
        super().__init__()
        self.requested = requested
        self.at_batches = at_batches

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.at_batches and self.requested():
            raise StoppedOnRequest

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.requested():
            raise StoppedOnRequest


class StoppedOnRequest(Exception):
    """Training stopped on request; the backup says what was saved."""


class SlowSteps(k.callbacks.Callback):
    """Sleep ``RNNLAB_EPOCH_DELAY`` seconds at the start of each epoch and ``RNNLAB_STEP_DELAY`` at the
    start of each batch: tests use them to interrupt a tiny model while an epoch is in progress."""

    def __init__(self, epoch_s: float, step_s: float = 0.0) -> None:
        super().__init__()
        self.epoch_s = epoch_s
        self.step_s = step_s

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        time.sleep(self.epoch_s)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        time.sleep(self.step_s)


def test_delay(name: str) -> float:
    try:
        return max(0.0, float(os.environ.get(name, "0") or 0))
    except ValueError:
        return 0.0


def fault_callbacks(files: RunFiles, interval_s: float, stop: Callable[[], bool], mid_epoch: bool = False) -> list[Any]:
    """Appended after the trainer's own callbacks: the backup must see every other callback's
    epoch end (history row, best checkpoint) before it records the epoch as done, and their epoch
    start (seed and state resets) before it puts a mid-epoch backup's state back.
    ``mid_epoch``: this run's batches can be resumed mid-epoch (``resume_point``'s step)."""
    delays = test_delay(EPOCH_DELAY_ENV), test_delay(STEP_DELAY_ENV)
    slow = [SlowSteps(*delays)] if any(delays) else []
    return [*slow, EpochBackup(files.backup, interval_s, stop, mid_epoch), StopOnRequest(stop, at_batches=mid_epoch)]


def resume_point(files: RunFiles, initial_epoch: int) -> ResumePoint:
    """Where training restarts: the backup's epoch and step, if an interrupted run left one beyond
    ``initial_epoch``. ``history.csv`` is cut back to that many epochs, dropping an epoch that was
    logged but not backed up (or half a row) when the process was killed."""
    saved = backup_point(files.backup)
    if (saved.epoch, saved.step) <= (initial_epoch, 0):
        forget_epochs(files.backup)
        saved = ResumePoint(initial_epoch)
    trim_history(files.history, saved.epoch)
    return saved


def forget_epochs(folder: Path) -> None:
    """Drop the backup's epochs (none is beyond the run's own), keeping the marker of the training under way."""
    (folder / BACKUP_STATE).unlink(missing_ok=True)
    for pattern in ("*.weights.h5", "*.carried.npz"):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)


def check_resumable(point: ResumePoint, steps: int, *, can_skip: bool) -> None:
    """Refuse to resume a mid-epoch backup where its batches cannot be skipped: the weights are
    those after ``point.step`` batches, which must not be trained again."""
    if not point.step:
        return
    why = "" if can_skip else "this run cannot skip batches (its dataset streams its own, or it is distributed)"
    if can_skip and point.steps != steps:
        why = f"it counted {point.steps} batches per epoch and this run has {steps} (training.batch_size changed?)"
    if why:
        raise RunError(
            f"the training backup was saved mid-epoch (epoch {point.epoch + 1}, batch {point.step}) and {why}; "
            "resume with the settings it was saved with, or pass --fresh to start over"
        )


class OneTraining(k.callbacks.CallbackList):
    """The callbacks of two ``fit`` calls seen as one training: the first ``fit`` finishes the
    resumed epoch's remaining batches, the second runs the epochs after it (a Keras epoch always
    has the same number of batches). Each callback sees one ``on_train_begin`` and one
    ``on_train_end``, so the history file, early stopping and the schedules carry on; ``FIRST_STEP``
    in the params tells the batch callbacks where the first ``fit`` starts in its epoch."""

    def __init__(self, callbacks: list[Any], *, first_step: int, **kwargs: Any) -> None:
        super().__init__(callbacks, **kwargs)
        self.set_params({**self.params, FIRST_STEP: first_step})
        self.begun = False
        self.last = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self.begun:
            self.begun = True
            super().on_train_begin(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.last:
            super().on_train_end(logs)

    def to_second_fit(self) -> None:
        self.set_params({**self.params, FIRST_STEP: 0})
        self.last = True


def fit_from_step(
    fit: Callable[[range, int, Any], Any],
    model: Any,
    callbacks: list[Any],
    epochs: range,
    resume: ResumePoint,
    verbose: int | str,
) -> Any:
    """Keras's ``History`` of a run resumed ``resume.step`` batches into ``epochs.start``; ``fit(span,
    skip, callbacks)`` runs the epochs of ``span``, leaving out the first ``skip`` batches of the first."""
    shown = 1 if verbose == "auto" else verbose
    together = OneTraining(
        callbacks,
        first_step=resume.step,
        add_history=True,
        add_progbar=shown != 0,
        model=model,
        verbose=shown,
        epochs=epochs.stop,
        steps=resume.steps,
    )
    fit(range(epochs.start, epochs.start + 1), resume.step, together)
    together.to_second_fit()
    if model.stop_training or len(epochs) == 1:
        together.on_train_end()
        return model.history
    return fit(range(epochs.start + 1, epochs.stop), 0, together)


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


def saved_text(point: ResumePoint) -> str:
    """What a backup holds, in words: ``epochs 1-3``, ``epochs 1-3 and batch 40/100 of epoch 4``."""
    epochs = f"epochs 1-{point.epoch}" if point.epoch > 1 else "epoch 1" if point.epoch else ""
    if not point.step:
        return epochs
    batches = f"batch {point.step}/{point.steps} of epoch {point.epoch + 1}"
    return f"{epochs} and {batches}" if epochs else batches


@contextlib.contextmanager
def interrupted_as_error(config: Config, files: RunFiles) -> Iterator[None]:
    """Ctrl-C/SIGTERM → one ``Interrupted`` line saying what was saved and how to resume."""
    try:
        yield
    except (StoppedOnRequest, KeyboardInterrupt):
        saved = backup_point(files.backup)
        raise Interrupted(
            f"training of '{config.name}' interrupted; {saved_text(saved)} saved in {files.backup} "
            f"(run `rnnlab train` on the same config to resume where it stopped, or pass --fresh to start over)"
            if saved.epoch or saved.step
            else f"training of '{config.name}' interrupted before anything was saved; nothing to resume, "
            "run `rnnlab train` on the same config again"
        ) from None
