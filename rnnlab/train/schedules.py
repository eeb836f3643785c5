"""Learning-rate schedules (``training.lr_schedule``) and the per-epoch ``learning_rate`` column of
``history.csv``.

``cosine`` and ``exponential`` are Keras's ``CosineDecay`` and ``ExponentialDecay`` evaluated at the
epoch (not the batch step) counted from the start of this ``train`` call, set by
``LearningRateScheduler`` at the start of every epoch: each call runs the schedule once over its
``training.epochs`` (a continued run restarts it, like a warm restart), and a run interrupted and
resumed picks it up at the epoch it stopped at. ``reduce_on_plateau`` is Keras's
``ReduceLROnPlateau``; a continued run starts from the last learning rate in ``history.csv``
instead of ``training.learning_rate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnlab.config import Config
from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()

LR_COLUMN = "learning_rate"


class LearningRateLog(k.callbacks.Callback):
    """Adds the optimizer's learning rate to each epoch's logs, so ``CSVLogger`` writes it; or, for a
    ``history.csv`` begun without that column, takes it out (its header cannot grow)."""

    def __init__(self, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        if not self.keep:
            logs.pop(LR_COLUMN, None)
        elif self.model.optimizer is not None:
            logs[LR_COLUMN] = float(k.ops.convert_to_numpy(self.model.optimizer.learning_rate))


def epoch_schedule(config: Config, start_epoch: int = 0) -> Any:
    """``epoch -> learning rate`` for cosine and exponential (epochs counted from ``start_epoch``), or None."""
    t = config.training
    s = t.lr_schedule
    if s is None or s.kind == "reduce_on_plateau":
        return None
    if s.kind == "cosine":
        decay: Any = k.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=s.decay_epochs or t.epochs, alpha=s.alpha)
    else:
        decay = k.optimizers.schedules.ExponentialDecay(t.learning_rate, decay_steps=s.decay_epochs or 1, decay_rate=s.decay_rate)
    return lambda epoch, lr=None: float(k.ops.convert_to_numpy(decay(max(0, epoch - start_epoch))))


def schedule_callbacks(config: Config, monitor: str, log_rate: bool, start_epoch: int = 0) -> list[Any]:
    """The schedule's callback (if any), then the learning-rate log; they go before ``CSVLogger``.
    ``monitor``: the resolved metric for ``reduce_on_plateau`` (``auto`` already replaced);
    ``start_epoch``: the epoch this ``train`` call began at."""
    s = config.training.lr_schedule
    chosen: list[Any] = []
    if s is not None and s.kind == "reduce_on_plateau":
        chosen.append(k.callbacks.ReduceLROnPlateau(monitor=monitor, factor=s.factor, patience=s.patience, min_lr=s.min_lr))
    elif s is not None:
        chosen.append(k.callbacks.LearningRateScheduler(epoch_schedule(config, start_epoch)))
    chosen.append(LearningRateLog(keep=log_rate))
    return chosen


def continue_rate(model: Any, config: Config, history: dict[str, list[float]]) -> None:
    """A continued ``reduce_on_plateau`` run keeps the rate it had reduced to."""
    s = config.training.lr_schedule
    rates = history.get(LR_COLUMN, [])
    if s is not None and s.kind == "reduce_on_plateau" and rates:
        model.optimizer.learning_rate.assign(rates[-1])
