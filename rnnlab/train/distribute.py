"""``training.distribute`` → a tf.distribute strategy, and the step loop for the one Keras cannot fit under.

- ``none``: the default strategy; the trainer calls Keras's own ``fit``.
- ``mirrored``: ``MirroredStrategy`` over the visible GPUs, or over ``training.devices`` logical CPUs;
  Keras's ``fit`` on padded global batches (``pipeline.padded_batches``).
- ``multi_worker``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``. Keras 3's ``fit`` cannot run
  under it (keras-team/keras#20585), so :func:`fit_multi_worker` runs Keras's own
  ``train_step``/``test_step`` through ``strategy.run`` and drives the *same* callback list ``fit``
  would (the best checkpoint, CSVLogger, early stopping, ...): the trainer, its callbacks and its
  artifacts are shared, only the step loop differs.

``training.batch_size`` is the *global* batch: each step consumes that many samples in total,
split evenly over the replicas. A batch that does not split evenly (the alphabet's 5 samples on 2
replicas) is padded to a multiple of the replica count with zero-weight samples, and its real
samples weigh ``padded / real``: with Keras's sum-over-batch-size losses the step's gradient is then
exactly the mean over the real samples, as on one device. (Repeating data to fill batches instead
would count some samples twice and change the gradient.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.config import Config
from rnnlab.data import dataset
from rnnlab.errors import ConfigError, RunError
from rnnlab.private_api import quicken_peer_health_check
from rnnlab.runtime import keras, tensorflow

log = logging.getLogger("rnnlab")

HEALTH_CHECK_INTERVAL_S = 5
"""How often each worker pings the others; a dead peer is noticed within about this plus 3 × 5 s."""
JOIN_TIMEOUT_S = 300
"""How long a worker waits for the rest of the cluster to start before giving up."""
COLLECTIVE_TIMEOUT_S = 600
"""Backstop for a single all-reduce whose peer is alive but stuck (the health check covers dead peers)."""

ADDRESS = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:(\d{1,5})$")

_strategies: dict[tuple[str, int | None], Any] = {}


def tf_config(workers: list[str], index: int) -> dict[str, Any]:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of plain workers (worker 0 is the chief)."""
    for address in workers:
        match = ADDRESS.match(address)
        if not match or not 0 < int(match.group(1)) < 65536:
            raise ConfigError(f"--workers: {address!r} is not host:port; give e.g. --workers 10.0.0.1:2222,10.0.0.2:2222")
    if len(set(workers)) != len(workers):
        raise ConfigError(f"--workers: {','.join(workers)} lists an address twice; give each worker its own host:port")
    if not 0 <= index < len(workers):
        raise ConfigError(f"--worker-index {index}: must be 0..{len(workers) - 1} for the {len(workers)} --workers given")
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}


def write_tf_config(workers: list[str], index: int) -> str:
    """Set ``TF_CONFIG`` in this process's environment, as TensorFlow expects to find it."""
    text = json.dumps(tf_config(workers, index))
    os.environ["TF_CONFIG"] = text
    return text


def read_tf_config() -> dict[str, Any]:
    raw = os.environ.get("TF_CONFIG", "")
    fix = "set TF_CONFIG or pass --workers host:port,host:port --worker-index I"
    if not raw.strip():
        raise ConfigError(f"training.distribute=multi_worker needs a cluster; {fix}")
    try:
        parsed = json.loads(raw)
        workers = parsed["cluster"]
        task = parsed["task"]
        if task["type"] not in workers or not 0 <= int(task["index"]) < len(workers[task["type"]]):
            raise ValueError(f"task {task} is not in the cluster")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG is not a valid cluster description ({exc}); {fix}") from None
    return parsed


def configure_devices(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices; TensorFlow allows this only before it starts."""
    tf = tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        current = tf.config.get_logical_device_configuration(cpu) or [None]
        if len(current) != count:
            raise RunError(
                f"training.devices={count}: TensorFlow already started in this process with {len(current)} "
                "CPU device(s); run `rnnlab train` in a fresh process"
            ) from None
    return [f"/cpu:{i}" for i in range(count)]


def strategy_for(config: Config) -> Any:
    """The strategy ``training.distribute`` asks for, created once per process (TensorFlow allows
    logical devices and the cluster to be set up only before its runtime starts)."""
    t = config.training
    key = (t.distribute, t.devices)
    if key not in _strategies:
        _strategies[key] = _new_strategy(config)
    return _strategies[key]


def _new_strategy(config: Config) -> Any:
    t = config.training
    tf = tensorflow()
    if t.distribute == "none":
        return tf.distribute.get_strategy()
    if t.distribute == "mirrored":
        devices = configure_devices(t.devices) if t.devices else None
        strategy = tf.distribute.MirroredStrategy(devices)
        log.info("mirrored over %d replica(s): %s", strategy.num_replicas_in_sync, ", ".join(strategy.extended.worker_devices))
        return strategy
    cluster = read_tf_config()
    quicken_peer_health_check(HEALTH_CHECK_INTERVAL_S, JOIN_TIMEOUT_S)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT_S)
    task = cluster["task"]
    log.info("worker %s:%s of %s, waiting for the others", task["type"], task["index"], json.dumps(cluster["cluster"]))
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as exc:
        raise RunError(f"multi_worker: {exc}; start every worker listed in TF_CONFIG (or --workers)") from None


def is_chief(strategy: Any) -> bool:
    return bool(strategy.extended.should_checkpoint)


def is_multi_worker(strategy: Any) -> bool:
    return isinstance(strategy, tensorflow().distribute.MultiWorkerMirroredStrategy)


def scope(strategy: Any) -> contextlib.AbstractContextManager[Any]:
    """Where the run's model is built or loaded: the strategy's scope, except under multi_worker.

    There, creating a variable is a collective across workers, and the chief (loading the run it
    resumes) and the others (building afresh) would create them in different orders; so the run's
    model stays local and :func:`fit` trains a copy built in the scope the same way on every worker."""
    return contextlib.nullcontext() if is_multi_worker(strategy) else strategy.scope()


@contextlib.contextmanager
def run_folder(config: Config, strategy: Any) -> Iterator[Path]:
    """The run folder, or for a non-chief worker a private temporary folder removed afterwards:
    Keras's callbacks write on every worker, but only the chief's files are the run."""
    if is_chief(strategy):
        yield config.run_dir
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"rnnlab-{config.name}-worker-"))
    log.info("not the chief: this worker's files go to %s (removed at the end); the chief writes the run folder", scratch)
    try:
        yield scratch / config.name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def per_replica_input(strategy: Any, dataset: Any) -> Any:
    """Each worker keeps its replicas' slices of every global batch, in step with the others.

    Slicing explicitly (instead of TensorFlow's auto-sharding, switched off here) keeps every padded
    global batch whole across the cluster, so the gradient is the same as on one device."""
    tf = tensorflow()
    replicas = strategy.num_replicas_in_sync

    def pipeline(ctx: Any) -> Any:
        local = replicas // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * local

        def mine(*batch: Any) -> Any:
            split = [tf.reshape(t, tf.concat([[replicas, -1], tf.shape(t)[1:]], 0))[first : first + local] for t in batch]
            return tf.data.Dataset.from_tensor_slices(tuple(split))

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.flat_map(mine).with_options(options)

    return strategy.distribute_datasets_from_function(pipeline)


OWN_BATCHES = (
    "training.distribute: this dataset feeds its own batches (e.g. data.bucket_by_length: true), which "
    "rnnlab cannot yet split across replicas; set data.bucket_by_length=false or training.distribute=none"
)


def check_batches(config: Config) -> None:
    """Refuses, before a run folder is touched, what ``fit`` could only refuse after loading the data."""
    if config.training.distribute != "none" and dataset(config.data.dataset).own_batches(config.data):
        raise ConfigError(OWN_BATCHES)


def fit_multi_worker(
    strategy: Any,
    model: Any,
    train_ds: Any,
    val_ds: Any,
    steps: tuple[int, int],
    *,
    epochs: int,
    initial_epoch: int,
    callbacks: list[Any],
    verbose: int | str,
) -> Any:
    """Keras ``fit``'s epoch loop under ``MultiWorkerMirroredStrategy``, returning Keras's ``History``;
    a lost peer becomes one line saying how to restart."""
    tf = tensorflow()
    try:
        return _fit_steps(strategy, model, train_ds, val_ds, steps, epochs - initial_epoch, initial_epoch, callbacks, verbose)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError, tf.errors.AbortedError) as exc:
        raise RunError(
            f"multi_worker: lost contact with {_lost_peer(exc)}; restart every worker with the same command "
            "(the chief's run folder keeps the epochs it finished)"
        ) from None


def _lost_peer(exc: Exception) -> str:
    """Which worker TensorFlow's error names, with its address, for a message that says where to look."""
    message = getattr(exc, "message", None) or str(exc)
    match = re.search(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)", message)
    if not match:
        return f"another worker ({type(exc).__name__})"
    job, index = match.group(1), int(match.group(2))
    addresses = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}).get(job, [])
    where = f" at {addresses[index]}" if index < len(addresses) else ""
    return f"{job} {index}{where} (it stopped answering or exited)"


def _fit_steps(
    strategy: Any,
    model: Any,
    train_ds: Any,
    val_ds: Any,
    steps: tuple[int, int],
    epochs_to_run: int,
    local_initial_epoch: int,
    callbacks: list[Any],
    verbose: int | str,
) -> Any:
    """Keras ``fit``'s epoch loop, with each step run through ``strategy.run`` (see module doc)."""
    k, tf = keras(), tensorflow()
    local_model, model = model, _replica_model(strategy, model)
    train_input = per_replica_input(strategy, train_ds)
    val_input = per_replica_input(strategy, val_ds) if val_ds is not None else None

    @tf.function
    def train_step(iterator: Any) -> None:
        strategy.run(model.train_step, args=(next(iterator),))

    @tf.function
    def test_step(iterator: Any) -> None:
        strategy.run(model.test_step, args=(next(iterator),))

    cbs = k.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=2 if verbose == "auto" else verbose,
        epochs=local_initial_epoch + epochs_to_run,
        steps=steps[0],
        model=model,
    )
    model.stop_training = False
    cbs.on_train_begin()  # the chief's EpochBackup loads an interrupted run's weights here, before they are shared
    span = tf.Variable([local_initial_epoch, epochs_to_run], dtype=tf.int64, trainable=False)
    chief_broadcast(strategy, [*_state(model), span])()
    initial_epoch, epochs_to_run = (int(n) for n in span.numpy())
    cbs.set_params({**cbs.params, "epochs": initial_epoch + epochs_to_run})
    stop = tf.Variable(False, trainable=False)
    chief_stop = chief_broadcast(strategy, [stop])
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, initial_epoch + epochs_to_run):
        model.reset_metrics()
        cbs.on_epoch_begin(epoch)
        iterator = iter(train_input)
        for step in range(steps[0]):
            cbs.on_train_batch_begin(step)
            train_step(iterator)
            cbs.on_train_batch_end(step)
        logs = _metric_results(model)
        if val_input is not None:
            model.reset_metrics()
            cbs.on_test_begin()  # as in Keras's fit: training.ema_momentum validates the averaged weights
            iterator = iter(val_input)
            for _ in range(steps[1]):
                test_step(iterator)
            cbs.on_test_end()
            logs.update({f"val_{name}": value for name, value in _metric_results(model).items()})
        cbs.on_epoch_end(epoch, logs)
        stop.assign(bool(model.stop_training))
        chief_stop()  # early stopping on a resumed chief replays epochs the others never saw
        if bool(stop.numpy()):
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)
    log.info("this worker's weights fingerprint: %s (the same on every worker)", weights_fingerprint(model))
    cbs.on_train_end(logs)
    _copy_state(model, local_model)
    return model.history


def weights_fingerprint(model: Any) -> str:
    """A short digest of the trained weights, so workers can be seen to agree."""
    digest = hashlib.sha256()
    for variable in model.trainable_variables:
        digest.update(np.ascontiguousarray(variable.numpy(), dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def _state(model: Any) -> list[Any]:
    return list(model.variables) + list(model.optimizer.variables)


def _copy_state(source: Any, target: Any) -> None:
    for mine, theirs in zip(_state(source), _state(target), strict=True):
        theirs.assign(mine.value)


def _replica_model(strategy: Any, model: Any) -> Any:
    """The same model and compile settings, built in the strategy's scope, holding ``model``'s state."""
    k = keras()
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    with strategy.scope():
        replica = k.models.clone_model(model)
        replica.compile_from_config(model.get_compile_config())
        if not replica.optimizer.built:
            replica.optimizer.build(replica.trainable_variables)
    _copy_state(model, replica)
    return replica


def _metric_results(model: Any) -> dict[str, float]:
    return {name: float(value) for name, value in model.get_metrics_result().items()}


def chief_broadcast(strategy: Any, variables: list[Any]) -> Callable[[], None]:
    """A call that sets ``variables`` on every worker to the chief's values.

    Only the chief reads the run folder (no shared filesystem needed), so its weights, optimizer
    state and epoch counts reach the others through one all-reduce in which they contribute zeros."""
    tf = tensorflow()
    chief = 1.0 if is_chief(strategy) else 0.0
    local = len(strategy.extended.worker_devices)

    @tf.function
    def gather() -> Any:
        def contribute() -> list[Any]:
            ctx = tf.distribute.get_replica_context()
            first_local = tf.cast(tf.equal(ctx.replica_id_in_sync_group % local, 0), tf.float64)
            return ctx.all_reduce("sum", [tf.cast(tf.convert_to_tensor(v), tf.float64) * chief * first_local for v in variables])

        return strategy.run(contribute)

    def broadcast() -> None:
        for variable, value in zip(variables, gather(), strict=True):
            variable.assign(tf.cast(strategy.experimental_local_results(value)[0], variable.dtype))

    return broadcast


def cluster_from_cli(config: Config, workers: str | None, index: int | None) -> str:
    """``--workers``/``--worker-index`` → ``TF_CONFIG`` for this process."""
    if config.training.distribute != "multi_worker":
        raise ConfigError(
            f"--workers needs training.distribute: multi_worker (the config says {config.training.distribute!r}); "
            "add --set training.distribute=multi_worker"
        )
    if workers is None or index is None:
        raise ConfigError("--workers and --worker-index go together, e.g. --workers 10.0.0.1:2222,10.0.0.2:2222 --worker-index 0")
    return write_tf_config([w.strip() for w in workers.split(",") if w.strip()], index)
