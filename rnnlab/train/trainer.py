"""The trainer: Config → data → model → ``fit`` → a self-contained run folder.

Re-running ``train`` on a finished run continues from its saved model for ``training.epochs``
more epochs (the lesson's "load the checkpoint if it exists"); ``fresh=True`` starts over.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import math
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import atomic
from rnnlab.config import Config, Training, dump_config
from rnnlab.data import dataset
from rnnlab.data.contract import Dataset, Prepared, TaskSpec
from rnnlab.errors import ConfigError, RunError
from rnnlab.model.builder import build_model, loss_and_metrics, set_embedding_init, set_output_prior
from rnnlab.model.numpy_engine import save_weights
from rnnlab.model.optimizers import KERAS_NAMES, LOGGED, epoch_tallies
from rnnlab.model.params import summarize
from rnnlab.model.stepping import KerasPredictor
from rnnlab.run.files import (
    GRADIENT_COLUMNS,
    NOT_METRICS,
    RunFiles,
    best_index,
    best_value,
    read_history,
    read_json,
    stale_temporaries,
    training_run_id,
    vouched_run_id,
    weights_dump,
    write_manifest,
)
from rnnlab.run.opening import backup_exists, check_same_model, load_saved_model
from rnnlab.run.plots import plot_curves, save_png
from rnnlab.runtime import keras, tensorflow
from rnnlab.train import distribute, schedules, tracking
from rnnlab.train.callbacks import AveragedWeights, BestCheckpoint, CarriedEarlyStopping, EpochSeeds, GradientLog, all_finite
from rnnlab.train.pipeline import array_batches, epoch_batches, evaluate_split, fit_data, padded_batches
from rnnlab.train.resume import (
    ResumePoint,
    check_resumable,
    fault_callbacks,
    fit_from_step,
    interrupted_as_error,
    interrupts_at_once,
    load_backup,
    resume_point,
    stop_requests,
)

log = logging.getLogger("rnnlab")


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    continued_from: int = 0
    messages: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    """The dataset's own result lines (``Dataset.report``), printed after the metrics."""


def resolve_monitor(monitor: str, has_validation: bool, training: Training) -> str:
    """``auto``: the (validation) loss, or with ``training.label_smoothing`` the plain cross-entropy
    the smoothed loss is logged beside, so the run stops and keeps the epoch its perplexity reports."""
    if monitor != "auto":
        return monitor
    base = "cross_entropy" if training.label_smoothing else "loss"
    return f"val_{base}" if has_validation else base


def make_optimizer(config: Config) -> Any:
    k = keras()
    t = config.training
    name = KERAS_NAMES[t.optimizer]
    momentum = {"momentum": t.momentum} if t.momentum else {}
    ema = {"use_ema": True, "ema_momentum": t.ema_momentum} if t.ema_momentum else {}
    cls = LOGGED[name] if t.log_gradients else getattr(k.optimizers, name)
    return cls(learning_rate=t.learning_rate, global_clipnorm=t.clipnorm, **momentum, **ema)


def compile_model(model: Any, config: Config, spec: TaskSpec, targets: np.ndarray | None = None) -> Any:
    """``targets``: the training targets, whose frequencies ``training.label_smoothing`` smooths towards."""
    loss, metrics = loss_and_metrics(spec, config.training.label_smoothing, targets)
    model.compile(
        optimizer=make_optimizer(config),
        loss=loss,
        weighted_metrics=metrics,
        steps_per_execution=config.training.steps_per_execution,
        jit_compile=config.training.jit_compile,
    )
    return model


@contextlib.contextmanager
def run_lock(files: RunFiles) -> Iterator[None]:
    """Refuse a second ``train`` on the same run. The lock is an ``flock`` on ``.lock``, which the
    kernel drops when its process dies, so a lock left by a killed run is simply taken; the file
    names its holder for the message. A lock from another host counts as held."""
    fd = _locked_fd(files)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            files.lock.unlink()
        os.close(fd)


def _locked_fd(files: RunFiles) -> int:
    me = f"{os.getpid()}@{socket.gethostname()}"
    for _ in range(5):
        fd = os.open(files.lock, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            raise _locked(files, owner) from None
        if os.fstat(fd).st_ino != _inode(files.lock):  # the holder removed it between our open and flock
            os.close(fd)
            continue
        owner = os.read(fd, 200).decode("utf-8", "replace").strip()
        if owner and owner != me and _owner_alive(owner):
            os.close(fd)
            raise _locked(files, owner)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, me.encode())
        except OSError as exc:
            files.lock.unlink(missing_ok=True)
            os.close(fd)
            raise RunError(f"{files.lock}: cannot take the run's lock ({exc.strerror or exc}); free some disk space") from None
        return fd
    raise _locked(files, "another process")


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1


def _locked(files: RunFiles, owner: str) -> RunError:
    return RunError(
        f"{files.root}: another `rnnlab train` ({owner or 'unknown'}) is using this run; wait for it to finish "
        f"or train under another name (--set experiment.name=...)"
    )


def _owner_alive(owner: str) -> bool:
    """A lock from another host counts as alive (its processes cannot be checked from here)."""
    pid_text, _, host = owner.partition("@")
    if host and host != socket.gethostname():
        return True
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_run_dir(files: RunFiles) -> None:
    try:
        files.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=files.root):
            pass
    except OSError as exc:
        raise RunError(
            f"{files.root}: cannot write the run folder ({exc.strerror or exc}); choose a writable experiment.output_root"
        ) from None


def completed_epochs(files: RunFiles) -> int:
    if not files.metrics.is_file():
        return 0
    return int(read_json(files.metrics).get("epochs", 0))


def continued_run_id(files: RunFiles, fresh: bool) -> str | None:
    """The id of the run this ``train`` carries on, once its folder checks out: a finished run (its
    manifest), one whose training was interrupted (the backup's), or ``None`` for a new run. Files
    of a run that never finished and left no backup are refused rather than silently replaced."""
    if fresh:
        return None
    run_id = vouched_run_id(files)
    if run_id is not None:
        return run_id
    if backup_exists(files):
        return training_run_id(files)
    leftovers = [p.name for p in files.outputs() if p.exists()]
    if leftovers:
        raise RunError(
            f"{files.root}: holds {', '.join(leftovers[:3])} but no {files.manifest.name} and no backup, so whatever made "
            "them never finished; pass --fresh to start over (or move the folder away)"
        )
    return None


def begin_training(files: RunFiles, run_id: str | None) -> str:
    """Mark the folder as training before its first write: the marker (and the manifest of the run
    being continued, moved into the backup) is how the next ``train`` or ``predict`` knows the state."""
    for path in stale_temporaries(files):
        path.unlink(missing_ok=True)
    known = training_run_id(files)
    run_id = known or run_id or uuid.uuid4().hex
    files.backup.mkdir(exist_ok=True)
    if files.manifest.is_file():
        os.replace(files.manifest, files.base_manifest)
    if known is None:
        atomic.write_json(files.training_marker, {"run_id": run_id})
    return run_id


def remove_links(files: RunFiles) -> None:
    """``--fresh`` on a folder with links in it: drop the links themselves, never what they point at."""
    if files.root.is_dir():
        for entry in files.root.iterdir():
            if entry.is_symlink():
                entry.unlink()


def load_or_build(config: Config, data: Prepared, files: RunFiles, fresh: bool, batch_size: int | None = None) -> tuple[Any, int]:
    """The model to fit and the epoch it starts at."""
    if not fresh and files.model.is_file() and files.config.is_file():
        check_same_model(files, config, data.state)
        model = load_saved_model(files)
        check_kept_optimizer(files, model, config)
        model.optimizer.learning_rate.assign(config.training.learning_rate)
        return model, completed_epochs(files)
    resuming = not fresh and backup_exists(files) and files.config.is_file()
    if resuming:
        check_same_model(files, config, data.state)
    model = build_model(config.model, data.spec, batch_size)
    if config.model.output_bias == "prior":
        set_output_prior(model, data.train.y, data.spec.kind)
    if config.model.embedding_init == "ppmi":
        set_embedding_init(model, data.train.x, data.spec, config.experiment.seed)
    model = compile_model(model, config, data.spec, data.train.y)
    if not resuming:  # only once the config has built a model: a refused one leaves the old run whole
        remove_links(files)
        for path in files.outputs():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for folder in (files.backup, files.tensorboard, files.export):
            shutil.rmtree(folder, ignore_errors=True)
    return model, 0


def check_kept_optimizer(files: RunFiles, model: Any, config: Config) -> None:
    """A continued run keeps the optimizer it was trained with: its gradient tallies (and so the
    history's columns) and its moving average of the weights."""
    optimizer = model.optimizer
    t = config.training
    kept = {
        "log_gradients": (epoch_tallies(optimizer) is not None, t.log_gradients),
        "ema_momentum": (optimizer.ema_momentum if optimizer.use_ema else None, t.ema_momentum),
    }
    for key, (trained, asked) in kept.items():
        if trained != asked:
            raise RunError(
                f"{files.root}: this run was trained with training.{key}={json.dumps(trained)} but the config says "
                f"{json.dumps(asked)}; set it back, or pass --fresh to `rnnlab train` to start over"
            )


def callbacks(
    config: Config,
    files: RunFiles,
    has_validation: bool,
    appending: bool,
    stop: Any = lambda: False,
    resumed: dict[str, list[float]] | None = None,
    start_epoch: int = 0,
) -> list[Any]:
    """The trainer's callbacks. ``resumed``: the history of this ``train`` call's epochs done
    before an interruption, for early stopping to carry on from; ``start_epoch``: the epoch this call began at."""
    k = keras()
    t = config.training
    monitor = resolve_monitor(t.checkpoint.monitor, has_validation, t)
    best_before = best_value(read_history(files.history).get(monitor, []), monitor) if appending else None
    averaged = AveragedWeights() if t.ema_momentum else None
    chosen = [
        *([averaged] if averaged else []),
        *([GradientLog()] if t.log_gradients else []),
        EpochSeeds(config.experiment.seed),
        BestCheckpoint(
            files.best_weights,
            monitor=monitor,
            initial_value_threshold=best_before,
            interval_s=t.backup_interval_s,
            requested=stop,
        ),
        *schedules.schedule_callbacks(
            config,
            resolve_monitor(t.lr_schedule.monitor if t.lr_schedule else "auto", has_validation, t),
            log_rate=not appending or schedules.LR_COLUMN in read_history(files.history),
            start_epoch=start_epoch,
        ),
        k.callbacks.CSVLogger(str(files.history), append=appending),
        k.callbacks.TerminateOnNaN(),
    ]
    if t.tensorboard:
        chosen.append(k.callbacks.TensorBoard(str(files.tensorboard), histogram_freq=t.tensorboard_histogram_freq))
    if t.early_stopping is not None:
        es = t.early_stopping
        es_monitor = resolve_monitor(es.monitor, has_validation, t)
        done = (resumed or {}).get(es_monitor, [])
        best = best_value(done, es_monitor)
        holds_best = es_monitor == monitor and best is not None and best == best_before
        chosen.append(
            CarriedEarlyStopping(
                done=done,
                best_file=files.best_weights if holds_best else None,
                monitor=es_monitor,
                patience=es.patience,
                min_delta=es.min_delta,
                restore_best_weights=es.restore_best_weights,
            )
        )
    if averaged:
        chosen.append(averaged.raw_back())
    return chosen


def history_since(files: RunFiles, epoch: int) -> dict[str, list[float]]:
    """``history.csv`` from ``epoch`` (0-based) on: what a resumed run already did of this call's epochs."""
    return {key: values[epoch:] for key, values in read_history(files.history).items()}


def check_tensorboard(config: Config) -> None:
    """Keras writes event files only through the tensorboard package; say so before any file is touched."""
    if config.training.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "training.tensorboard is true but the tensorboard package is not installed; "
            "`pip install tensorboard` or set training.tensorboard: false"
        )


def summarise_history(history: dict[str, list[float]], monitor: str) -> dict[str, Any]:
    """Epoch counts and the metrics at the best and the last epoch."""
    if not history.get("epoch"):
        return {"epochs": 0}
    best = best_index(history.get(monitor, history["loss"]), monitor) or 0
    metric_names = [k for k in history if k not in NOT_METRICS]
    return {
        "epochs": len(history["epoch"]),
        "monitor": monitor,
        "best_epoch": best + 1,
        "best": {k: _clean(history[k][best]) for k in metric_names},
        "final": {k: _clean(history[k][-1]) for k in metric_names},
    }


def headline_value(metrics: dict[str, Any], key: str) -> float | None:
    """The model's number the baselines sit beside: a test score, else the best epoch's value."""
    value = metrics[key] if key in metrics else (metrics.get("best") or {}).get(key)
    return value if isinstance(value, (int, float)) else None


def _clean(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)


def trainable_variables(model: Any) -> list[tuple[str, np.ndarray]]:
    return [(v.path, np.asarray(v.numpy())) for v in model.trainable_variables]


def train(
    config: Config, *, fresh: bool = False, verbose: int | str = "auto", extra_callbacks: Sequence[Any] = ()
) -> TrainResult:
    """``extra_callbacks``: the caller's own Keras callbacks (e.g. ``--log-every``'s epoch lines), run after the trainer's."""
    check_tensorboard(config)
    tracking.check_tracking(config)
    distribute.check_batches(config)
    strategy = distribute.strategy_for(config)
    with distribute.run_folder(config, strategy) as root:
        files = RunFiles(root)
        created = [folder for folder in (files.root, *files.root.parents) if not folder.exists()]
        prepare_run_dir(files)
        try:
            with run_lock(files), interrupts_at_once(), interrupted_as_error(config, files):
                return _train_locked(config, files, strategy, fresh=fresh, verbose=verbose, extra=list(extra_callbacks))
        except BaseException:
            remove_empty(created)
            raise


def remove_empty(folders: list[Path]) -> None:
    """Undo the folders a failed ``train`` created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _train_locked(
    config: Config, files: RunFiles, strategy: Any, *, fresh: bool, verbose: int | str, extra: list[Any]
) -> TrainResult:
    carried_id = continued_run_id(files, fresh)
    keras().utils.set_random_seed(config.experiment.seed)
    chosen: Dataset = dataset(config.data.dataset)
    data = chosen.load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split)
    plan = chosen.fit_plan(config.data, data, batch_size=config.training.batch_size)
    with distribute.scope(strategy):
        model, initial_epoch = load_or_build(config, data, files, fresh, plan.stateful_batch)
    if initial_epoch:
        schedules.continue_rate(model, config, read_history(files.history))
    load_backup(model, files.backup)
    resume = resume_point(files, initial_epoch)
    resumed_at = resume.epoch
    messages = []
    if (resume.epoch, resume.step) > (initial_epoch, 0):
        at = f" batch {resume.step}/{resume.steps} of epoch {resumed_at + 1}" if resume.step else f" epoch {resumed_at}"
        log.info(
            f"Resuming interrupted run '{config.name}' at{at} of {initial_epoch + config.training.epochs} "
            f"(backup in {files.backup}); pass --fresh to start over."
        )
    if initial_epoch:
        messages.append(f"Continuing run '{config.name}' from epoch {initial_epoch} ({files.model}); pass --fresh to start over.")
        log.info(messages[-1])
    run_id = begin_training(files, carried_id)
    if not files.base_manifest.is_file():
        atomic.write_text(files.config, dump_config(config))
        atomic.write_json(files.vocab, data.state)
        atomic.write_json(files.task, asdict(data.spec))

    spec = data.spec
    train_data = fit_data(config, plan.train, spec, shuffle=plan.shuffle)
    validation = None if plan.validation is None else fit_data(config, plan.validation, spec, shuffle=False)
    tracker = tracking.tracker(config, files.root)
    started = time.perf_counter()
    mid_epoch = isinstance(train_data, tuple) and config.training.distribute == "none"
    with stop_requests(at_batches=mid_epoch) as stop:
        fit = run_fit(
            strategy,
            model,
            train_data,
            validation,
            batch_size=config.training.batch_size,
            epochs=initial_epoch + config.training.epochs,
            initial_epoch=resumed_at,
            resume=resume,
            callbacks=plan.callbacks
            + callbacks(
                config,
                files,
                validation is not None,
                appending=resumed_at > 0,
                stop=stop,
                resumed=history_since(files, initial_epoch),
                start_epoch=initial_epoch,
            )
            + fault_callbacks(files, config.training.backup_interval_s, stop, mid_epoch)
            + ([tracker] if tracker else [])
            + extra,
            shuffle=plan.shuffle,
            verbose=verbose,
            seed=config.experiment.seed,
        )
    wall = time.perf_counter() - started
    epochs_now = len(fit.history.get("loss", []))

    history = read_history(files.history)
    monitor = resolve_monitor(config.training.checkpoint.monitor, validation is not None, config.training)
    metrics = summarise_history(history, monitor)
    previous = read_json(files.metrics) if initial_epoch and files.metrics.is_file() else {}
    metrics.update(
        {
            "epochs_this_run": epochs_now,
            "continued_from_epoch": initial_epoch,
            "resumed_at_epoch": resumed_at,
            "wall_time_s": round(wall + previous.get("wall_time_s", 0.0), 3),
            "seconds_per_epoch": round(wall / max(1, epochs_now), 4),
            "train_samples": len(data.train),
            "validation_samples": len(data.validation) if data.validation is not None else 0,
        }
    )
    if any(not math.isfinite(v) for v in fit.history.get("loss", [])):
        nan_epoch = resumed_at + epochs_now
        metrics["stopped_on_nan_at_epoch"] = nan_epoch
        if files.best_weights.is_file():
            model.load_weights(files.best_weights)
        if not all_finite(model.get_weights()):
            raise RunError(
                f"training of '{config.name}' diverged: the loss became NaN/Inf at epoch {nan_epoch}, before any epoch "
                "with finite weights, so nothing was saved; set training.clipnorm (e.g. 1.0) or lower "
                "training.learning_rate, then train again"
            )
        messages.append(
            f"Loss became NaN/Inf at epoch {nan_epoch}; training stopped and model.keras holds the best "
            f"checkpoint so far ({files.best_weights}, epoch {metrics.get('best_epoch')}). "
            "Set training.clipnorm (e.g. 1.0) or lower training.learning_rate."
        )
    if data.test is not None:
        metrics.update(evaluate_split(model, data.test, config, spec))
    report = chosen.report(config.data, data, KerasPredictor(model, spec, config.model.encoding))
    metrics.update(report.metrics)
    baselines = chosen.baselines(config.data, data)
    if baselines is not None:
        metrics["baseline"] = baselines.as_dict(headline_value(metrics, baselines.model_key))

    atomic.write_with(files.model, model.save)
    atomic.write_with(files.numpy_weights, lambda tmp: save_weights(model, tmp))
    atomic.write_text(files.weights_dump, weights_dump(trainable_variables(model)))
    atomic.write_text(files.summary, summarize(model).text())
    plot_curves(
        {k: v for k, v in history.items() if k not in GRADIENT_COLUMNS},
        files.curves,
        title=f"{config.name}: {config.model.layer} on {config.data.dataset}",
        best_epoch=metrics.get("best_epoch"),
        tests={k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")},
    )
    for name, figure in report.figures.items():
        save_png(figure, files.figure(name))
    metrics["run_id"] = run_id
    atomic.write_json(files.metrics, metrics)
    atomic.write_text(files.config, dump_config(config))
    write_manifest(files, run_id)
    if tracker is not None:
        tracker.finish(metrics)
    shutil.rmtree(files.backup, ignore_errors=True)
    if config.training.tensorboard:
        messages.append(f"TensorBoard logs: tensorboard --logdir {files.tensorboard}")
    return TrainResult(files.root, metrics, initial_epoch, messages, report.lines)


def run_fit(
    strategy: Any,
    model: Any,
    train: tuple[np.ndarray, np.ndarray] | Any,
    validation: tuple[np.ndarray, np.ndarray] | Any | None,
    *,
    batch_size: int,
    epochs: int,
    initial_epoch: int,
    callbacks: list[Any],
    verbose: int | str,
    seed: int,
    shuffle: bool = True,
    resume: ResumePoint = ResumePoint(0),
) -> Any:
    """``model.fit`` under the strategy, returning Keras's ``History``. ``train`` is ``(x, y)`` arrays
    or, on one device only, a stream of the dataset's own batches.

    On one device every epoch's batches come through one iterator (``pipeline.epoch_batches``), and
    a mid-epoch ``resume`` first finishes its epoch in a ``fit`` of its own (``resume.fit_from_step``);
    mirrored runs get padded global batches; multi-worker runs the step loop of ``distribute``."""
    tf = tensorflow()
    arrays = isinstance(train, tuple)
    single = strategy is tf.distribute.get_strategy()
    steps = math.ceil(len(train[0]) / batch_size) if arrays else 0
    check_resumable(resume, steps, can_skip=arrays and single)
    if single:
        validation_data = array_batches(validation[0], validation[1], batch_size) if isinstance(validation, tuple) else validation

        def fit(span: range, first_step: int, chosen: Any) -> Any:
            inputs: dict[str, Any] = {"x": train}
            if arrays:
                left = steps - first_step
                one_iterator = left % model.steps_per_execution == 0  # else a compiled call would run into the next epoch
                batches = epoch_batches(
                    *train,
                    batch_size=batch_size,
                    epochs=span,
                    shuffle_seed=seed if shuffle else None,
                    one_iterator=one_iterator,
                    first_step=first_step,
                )
                inputs = {"x": batches, "steps_per_epoch": left if one_iterator else None}
            return model.fit(
                **inputs,
                epochs=span.stop,
                initial_epoch=span.start,
                validation_data=validation_data,
                callbacks=chosen,
                verbose=verbose,
            )

        if resume.step:
            return fit_from_step(fit, model, callbacks, range(initial_epoch, epochs), resume, verbose)
        return fit(range(initial_epoch, epochs), 0, callbacks)
    if not arrays:
        raise ConfigError(distribute.OWN_BATCHES)
    replicas = strategy.num_replicas_in_sync
    train_ds = padded_batches(*train, batch_size=batch_size, replicas=replicas, shuffle_seed=seed if shuffle else None)
    val_ds = (
        None if validation is None else padded_batches(*validation, batch_size=batch_size, replicas=replicas, shuffle_seed=None)
    )
    if not distribute.is_multi_worker(strategy):
        return model.fit(
            train_ds, epochs=epochs, initial_epoch=initial_epoch, validation_data=val_ds, callbacks=callbacks, verbose=verbose
        )
    counts = (math.ceil(len(train[0]) / batch_size), 0 if validation is None else math.ceil(len(validation[0]) / batch_size))
    return distribute.fit_multi_worker(
        strategy,
        model,
        train_ds,
        val_ds,
        counts,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
