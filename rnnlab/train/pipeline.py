"""The input pipelines: the ``tf.data`` streams rnnlab hands to Keras, all with autotuning off.

In TensorFlow 2.21 an autotuned iterator (one with a ``map`` or an ``AUTOTUNE`` buffer) cannot be
deleted until its tuning thread wakes, and that thread sleeps for periods that double up to a
minute: the end of every epoch, validation pass or evaluation then stalls, idle, for a random
share of that pass's own length, up to all of it (``python bench/run.py tfdata`` measures it).
Keras opens a new iterator for each of those, and for NumPy arrays it builds an autotuned dataset
itself, so rnnlab gives ``fit`` and ``evaluate`` only streams made here. Everything rnnlab streams
already sits in memory: a fixed two-batch buffer keeps the next batch ready without tuning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlab.config import Config
from rnnlab.data import dataset
from rnnlab.data.contract import BatchPlan, Split, TaskSpec
from rnnlab.model.builder import model_inputs
from rnnlab.runtime import tensorflow

PREFETCH_BATCHES = 2


def untuned(dataset: Any) -> Any:
    """``dataset`` with ``PREFETCH_BATCHES`` buffered ahead and no autotuning thread to wait for."""
    tf = tensorflow()
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(PREFETCH_BATCHES).with_options(options)


def array_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Any:
    """``(x, y)`` in order, ``batch_size`` rows at a time: validation and test sets."""
    tf = tensorflow()
    return untuned(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size))


def plan_batches(plan: BatchPlan, ndim: int) -> Any:
    """A dataset's own NumPy batches (``Dataset.batches``) as an untuned stream of ``plan.count``
    batches; ``x`` may change width from batch to batch."""
    tf = tensorflow()
    signature = (tf.TensorSpec((None,) * ndim, tf.int32), tf.TensorSpec((None,), tf.float32))
    data = tf.data.Dataset.from_generator(plan.batches, output_signature=signature)
    return untuned(data.apply(tf.data.experimental.assert_cardinality(plan.count)))


def epoch_batches(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    epochs: range,
    shuffle_seed: int | None,
    one_iterator: bool,
    first_step: int = 0,
) -> Any:
    """The training batches as a ``tf.data.Dataset``, each epoch shuffled by (seed, epoch) alone.

    Given arrays, Keras opens a new iterator every epoch, a fixed cost of about 10 ms that is a
    tenth of a small model's epoch. With ``one_iterator`` the dataset holds all ``epochs`` back to
    back, for ``fit`` with ``steps_per_epoch``; otherwise each new iterator yields the next epoch
    (for when a compiled call of ``steps_per_execution`` batches would run into the next epoch).
    Either way a batch never straddles two epochs, and a resumed run sees the batches an
    uninterrupted run would. ``first_step``: the batches of a single epoch already done before a
    mid-epoch backup, left out (the epoch's order is the same, so the rest are the same batches).
    """
    assert not first_step or len(epochs) == 1, "a mid-epoch start is for one epoch (resume.fit_from_step)"
    tf = tensorflow()
    x_all, y_all = tf.constant(x), tf.constant(y)
    steps = math.ceil(len(x) / batch_size)

    def one_epoch(epoch: Any) -> Any:
        order = tf.range(len(x), dtype=tf.int64)
        if shuffle_seed is not None:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.constant(shuffle_seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    if one_iterator:
        numbers = tf.data.Dataset.range(epochs.start, epochs.stop)
    else:
        counter = tf.Variable(epochs.start - 1, dtype=tf.int64, trainable=False)
        numbers = tf.data.Dataset.from_tensors(0).map(lambda _: counter.assign_add(1))
    batches = (
        numbers.flat_map(one_epoch)
        .skip(first_step)
        .apply(tf.data.experimental.assert_cardinality(steps * (len(epochs) if one_iterator else 1) - first_step))
    )
    return untuned(batches.map(lambda rows: (tf.gather(x_all, rows), tf.gather(y_all, rows))))


def padded_batches(x: np.ndarray, y: np.ndarray, *, batch_size: int, replicas: int, shuffle_seed: int | None) -> Any:
    """Global batches of ``(x, y, weight)``, each padded to a multiple of ``replicas`` (see module doc)."""
    tf = tensorflow()
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)

    def pad(xb: Any, yb: Any) -> tuple[Any, Any, Any]:
        real = tf.shape(xb)[0]
        padded = (real + replicas - 1) // replicas * replicas
        weight = tf.cast(padded, tf.float32) / tf.cast(real, tf.float32)
        w = tf.concat([tf.fill([real], weight), tf.zeros([padded - real])], axis=0)
        return _pad_rows(xb, padded - real), _pad_rows(yb, padded - real), w

    ds = ds.batch(batch_size).map(pad)
    options = tf.data.Options()
    # Arrays in memory: every worker holds all of them, so shard the data, not (non-existent) files.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return untuned(ds.with_options(options))


def _pad_rows(t: Any, extra: Any) -> Any:
    tf = tensorflow()
    return tf.pad(t, [[0, extra]] + [[0, 0]] * (len(t.shape) - 1))


def fit_data(config: Config, split: Split, spec: TaskSpec, *, shuffle: bool) -> Any:
    """``split`` as fit/evaluate take it: a stream of the dataset's own batches when it has them
    (``Dataset.batches``, e.g. bucketed by length), else the ``(x, y)`` arrays."""
    t = config.training
    plan = dataset(config.data.dataset).batches(
        config.data, split, batch_size=t.batch_size, shuffle=shuffle, seed=config.experiment.seed
    )
    if plan is not None:
        return plan_batches(plan, split.x.ndim)
    return model_inputs(split.x, spec, config.model.encoding), split.y


def evaluate_split(model: Any, split: Split, config: Config, spec: TaskSpec) -> dict[str, float]:
    data = fit_data(config, split, spec, shuffle=False)
    batches = array_batches(data[0], data[1], config.training.batch_size) if isinstance(data, tuple) else data
    scores = model.evaluate(batches, verbose=0, return_dict=True)
    return {f"test_{k}": round(float(v), 6) for k, v in scores.items()}
