"""The only places rnnlab reaches past Keras's and TensorFlow's public API, each for want of a public one.

Everything private is named here and nowhere else, so an upgrade that moves it breaks one module,
and ``tests/test_private_api.py`` fails loudly, naming what moved, before any user meets it.

- ``keras_rnn_loop``: Keras's own time loop (``keras.src.backend.rnn``), the one ``RNN.inner_loop``
  runs. ``OneHotSimpleRNN`` drives it with a step that skips the input product; Keras exports no
  loop of its own (``keras.ops`` has ``scan`` but not the masking and unrolling ``RNN`` relies on).
- ``quicken_peer_health_check``: ``MultiWorkerMirroredStrategy``'s peer health check runs every
  30 s with no public knob; multi-worker training sets it to a few seconds, so a dead worker is
  noticed before a long all-reduce times out.
"""

from __future__ import annotations

from typing import Any

PRIVATE_NAMES = (
    "keras.src.backend.rnn",
    "tensorflow.python.distribute.collective_all_reduce_strategy.CollectiveAllReduceExtended"
    "._check_health_interval / ._check_health_initial_timeout",
)


def keras_rnn_loop() -> Any:
    """``keras.src.backend.rnn(step, inputs, initial_states, ...)``."""
    from keras.src.backend import rnn

    return rnn


def collective_extended() -> Any:
    from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended

    return CollectiveAllReduceExtended


def quicken_peer_health_check(interval_s: int, initial_timeout_s: int) -> None:
    """Ping peers every ``interval_s`` and wait at most ``initial_timeout_s`` for them to start."""
    extended = collective_extended()
    for name in ("_check_health_interval", "_check_health_initial_timeout"):
        if not hasattr(extended, name):
            raise AttributeError(f"TensorFlow no longer has CollectiveAllReduceExtended.{name}; see rnnlab/private_api.py")
    extended._check_health_interval = interval_s
    extended._check_health_initial_timeout = initial_timeout_s
