"""The trainer's own Keras callbacks: the best checkpoint, early stopping that survives a resume,
per-epoch dropout seeds, the epoch's gradient norms and the averaged weights between epochs. Each is one class with one job, on Keras's public ``Callback`` API only.

"Better" is ``rnnlab.run.files.monitor_mode``'s rule, shared with the metrics summary and
``rnnlab runs``, so ``train``'s best epoch and the table's are always the same epoch.

Imported only by the trainer (it imports Keras at module level), so ``rnnlab --help`` stays free
of TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnlab import atomic
from rnnlab.model.optimizers import epoch_tallies, reset_tallies
from rnnlab.run.files import GRADIENT_COLUMNS, monitor_mode
from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()


def improves(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (anything beats ``None``; NaN never does)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value - min_delta > best if mode == "max" else value + min_delta < best


class BestCheckpoint(k.callbacks.Callback):
    """Writes the weights of the best epoch so far to ``filepath`` (``best.weights.h5``), atomically:
    a crash (or a full disk) mid-save never leaves a corrupt file.

    Args:
        filepath: where the weights go (a ``.weights.h5`` name).
        monitor: the logged metric that picks the best epoch.
        initial_value_threshold: the best value already on disk (a continued run), which a new
            epoch must beat before the file is replaced.
        interval_s: with > 0, a new best is written only when that many seconds have passed since the
            last write; meanwhile its weights wait in memory, and are written when a stop is requested
            and when training ends. The file then lags a crash by at most ``interval_s``, and epochs of
            a fraction of a second do not spend a sixth of their time saving.
        requested: returns True once a stop was asked for (Ctrl-C, SIGTERM).
    """

    def __init__(
        self,
        filepath: Path,
        *,
        monitor: str,
        initial_value_threshold: float | None = None,
        interval_s: float = 0.0,
        requested: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__()
        self.filepath = Path(filepath)
        self.monitor = monitor
        self.mode = monitor_mode(monitor)
        self.best = initial_value_threshold
        self.interval_s = interval_s
        self.requested = requested
        self.written_at = -math.inf
        self.pending: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        improved = value is not None and improves(float(value), self.best, self.mode)
        if improved:
            self.best = float(value)  # type: ignore[arg-type]
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
        if not all_finite(self.model.get_weights()):
            return  # a finite loss over NaN/Inf weights is not a best epoch: keep the last good file
        atomic.write_with(self.filepath, lambda tmp: self.model.save_weights(tmp))
        self.written_at = time.monotonic()
        self.pending = None

    def _write_pending(self) -> None:
        """Write the best epoch's weights held in memory; the model's own are put back after."""
        assert self.pending is not None
        with weights_kept(self.model):
            self.model.set_weights(self.pending)
            self._write()


class CarriedEarlyStopping(k.callbacks.Callback):
    """Keras's ``EarlyStopping`` rule (stop after ``patience`` epochs without an improvement of more
    than ``min_delta``; optionally end with the best epoch's weights) that goes on counting across an
    interruption.

    A resumed ``fit`` gets a new callback, which would forget the epochs done before the
    interruption: its patience would start over, and ``restore_best_weights`` would end the run on
    the best epoch *after* the restart. This one first replays ``done``, the monitored values of
    those epochs (from ``history.csv``), and when the best epoch is among them takes its weights from
    ``best_file`` (``best.weights.h5``, kept for the same monitor), so the run stops, and ends with the
    weights, as an uninterrupted run would.

    Args:
        monitor: the logged metric to watch.
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        restore_best_weights: end training with the best epoch's weights.
        done: the monitored values of this call's epochs finished before an interruption.
        best_file: where the best of those epochs' weights are, when they are the best so far.
    """

    def __init__(
        self,
        *,
        monitor: str,
        patience: int,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        done: list[float] | None = None,
        best_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.mode = monitor_mode(monitor)
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.done = done or []
        self.best_file = best_file
        self.wait = 0
        self.best: float | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.stopped_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.wait, self.best, self.best_weights, self.stopped_epoch = 0, None, None, 0
        for value in self.done:
            self.wait += 1
            if improves(value, self.best, self.mode, self.min_delta):
                self.best, self.wait = value, 0
        if self.done and self.restore_best_weights and self.best_file is not None and self.best_file.is_file():
            self.best_weights = weights_in(self.model, self.best_file)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if improves(float(value), self.best, self.mode, self.min_delta):
            self.best, self.wait = float(value), 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def all_finite(weights: list[np.ndarray]) -> bool:
    return all(np.isfinite(w).all() for w in weights if np.issubdtype(w.dtype, np.floating))


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


class EpochSeeds(k.callbacks.Callback):
    """Reset every dropout ``SeedGenerator`` to a state derived from (seed, epoch) at each epoch's
    start. Their state is not part of the saved weights, so without this a resumed run would draw
    different dropout masks than an uninterrupted one.

    Args:
        seed: the run's ``experiment.seed``.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for index, variable in enumerate(v for v in self.model.variables if v.path.endswith("seed_generator_state")):
            digest = hashlib.sha256(f"{self.seed}:{index}".encode()).digest()
            start = int.from_bytes(digest[:4], "little") % (2**31 - 1)
            variable.assign(np.array([start, epoch * 1_000_003], dtype=variable.dtype))


class GradientLog(k.callbacks.Callback):
    """Puts the epoch's gradient norms into the logs, so ``CSVLogger`` writes them to ``history.csv``
    (``training.log_gradients``): the mean and the largest global norm before clipping over the
    epoch's steps, and the fraction of steps ``global_clipnorm`` clipped (0 without it). The
    counting is done by the model's ``Logged<Name>`` optimizer (``rnnlab.model.optimizers``); this
    callback only resets it at each epoch's start and reads it at the end. Run it before ``CSVLogger``.
    """

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        reset_tallies(self.model.optimizer)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        tallies = epoch_tallies(self.model.optimizer)
        if logs is None or tallies is None or not tallies["steps"]:
            return
        steps = tallies["steps"]
        values = (tallies["norm_sum"] / steps, tallies["norm_max"], tallies["clipped"] / steps)
        logs.update(zip(GRADIENT_COLUMNS, values))


class AveragedWeights(k.callbacks.SwapEMAWeights):
    """Between epochs the model holds the optimizer's moving average of its weights
    (``training.ema_momentum``, Keras's ``use_ema``), so what is validated is also what the best
    checkpoint keeps, early stopping restores and ``model.keras`` ends with.

    Keras's ``SwapEMAWeights`` swaps the average in for validation only; this also swaps it in at
    each epoch's end, for the callbacks after it to judge and save. Its own ``swap_on_epoch`` would
    leave the average in until the next epoch begins, so the resumable backup would hold the two sets
    in each other's places, and a run stopped early would end on the raw weights (``fit`` ends by
    copying the average's slot into the model). Here ``raw_back`` (a callback for after the others,
    before the backup) swaps the raw weights back, and ``fit``'s last copy then ends on the average.
    Put this first.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_test_begin()

    def raw_back(self) -> k.callbacks.Callback:
        """The callback that swaps the raw weights back in at the epoch's end."""
        return k.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: self.on_test_end())
