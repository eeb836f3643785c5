"""The streams rnnlab hands to Keras: the arrays as they are, with no autotuning thread to wait for."""

from __future__ import annotations

import numpy as np

from rnnlab.runtime import tensorflow
from rnnlab.train.pipeline import array_batches, epoch_batches, untuned


def test_array_batches_are_the_arrays_in_order_without_autotuning() -> None:
    x, y = np.arange(30, dtype=np.int32).reshape(10, 3), np.arange(10, dtype=np.float32)
    stream = array_batches(x, y, 4)
    batches = [(bx.numpy(), by.numpy()) for bx, by in stream]
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    assert np.array_equal(np.concatenate([bx for bx, _ in batches]), x)
    assert np.array_equal(np.concatenate([by for _, by in batches]), y)
    assert not stream.options().autotune.enabled


def test_every_training_stream_is_untuned() -> None:
    x, y = np.zeros((8, 2), np.int32), np.zeros(8, np.float32)
    for one_iterator in (True, False):
        stream = epoch_batches(x, y, batch_size=4, epochs=range(2), shuffle_seed=0, one_iterator=one_iterator)
        assert not stream.options().autotune.enabled
    tf = tensorflow()
    mapped = untuned(tf.data.Dataset.range(5).map(lambda i: i * 2))
    assert not mapped.options().autotune.enabled and [int(v) for v in mapped] == [0, 2, 4, 6, 8]
