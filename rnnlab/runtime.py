"""TensorFlow, imported late and quietly.

Only commands that need a model import TensorFlow, so ``rnnlab --help`` stays instant. The C++
and absl lines TensorFlow prints while importing (oneDNN notices, CUDA probing) bypass Python,
so they are caught at the file-descriptor level and shown only with ``--debug`` or on failure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

DEBUG_ENV = "RNNLAB_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


@contextlib.contextmanager
def captured_stderr_fd() -> Iterator[None]:
    """Send fd 2 to a temporary file; replay it if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def keras() -> Any:
    """Import and return ``keras`` (TensorFlow backend), silencing its noise unless debugging."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if debug_enabled():
        import keras as keras_module

        return keras_module
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with captured_stderr_fd():
        import keras as keras_module
        import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")
    return keras_module


def tensorflow() -> Any:
    keras()
    import tensorflow as tf

    return tf
