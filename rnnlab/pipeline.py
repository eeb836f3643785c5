"""The ``tf.data`` streams rnnlab hands to Keras, all with autotuning off.

In TensorFlow 2.21 an autotuned iterator (one with a ``map`` or an ``AUTOTUNE`` buffer) cannot be
deleted until its tuning thread wakes, and that thread sleeps for periods that double up to a
minute: the end of every epoch, validation pass or evaluation then stalls, idle, for a random
share of that pass's own length, up to all of it (``python bench/run.py tfdata`` measures it).
Keras opens a new iterator for each of those, and for NumPy arrays it builds an autotuned dataset
itself, so rnnlab gives ``fit`` and ``evaluate`` only streams made here. Everything rnnlab streams
already sits in memory: a fixed two-batch buffer keeps the next batch ready without tuning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
