"""``rnnlab export --format onnx``: the run's ``model.keras`` through ``tf2onnx``, then checked with
``onnxruntime`` against Keras on a batch of inputs of the model's own kind (token ids, one-hot
vectors or feature vectors). Both packages come with ``pip install -e '.[onnx]'``."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import atomic
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import RunError

OPSET = 17
PARITY_BATCH = 8
PARITY_TOLERANCE = 1e-4
INPUT_NAME = "inputs"


@dataclass
class Parity:
    samples: int
    max_abs_diff: float

    @property
    def matches(self) -> bool:
        return self.max_abs_diff <= PARITY_TOLERANCE

    def text(self) -> str:
        verdict = "matches" if self.matches else "DIFFERS from"
        return (
            f"onnxruntime {verdict} Keras on a batch of {self.samples}: max |difference| {self.max_abs_diff:.2e} "
            f"(tolerance {PARITY_TOLERANCE:g})"
        )


def require_onnx() -> None:
    missing = [name for name in ("tf2onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise RunError(
            f"--format onnx needs {' and '.join(missing)}, not installed; `pip install -e '.[onnx]'` "
            "(or pip install tf2onnx onnxruntime)"
        )


def sample_batch(model: Any, spec: TaskSpec, seed: int = 0) -> np.ndarray:
    """Inputs of the kind the model takes: ids, their one-hot vectors, or feature vectors."""
    rng = np.random.default_rng(seed)
    shape = tuple(model.inputs[0].shape[1:])
    steps = shape[0] or spec.timesteps or 5
    dtype = str(model.inputs[0].dtype)
    if spec.vocab_size is None:
        return rng.normal(size=(PARITY_BATCH, steps, *shape[1:])).astype(dtype)
    ids = rng.integers(1 if spec.mask_padding else 0, spec.vocab_size, size=(PARITY_BATCH, steps))
    if len(shape) == 2:  # one-hot vectors
        return np.eye(shape[1], dtype=dtype)[ids]
    return ids.astype(dtype)


def export_onnx(model: Any, spec: TaskSpec, target: Path) -> Parity:
    """Convert, write ``target`` atomically, and compare onnxruntime's outputs with Keras's."""
    require_onnx()
    import onnxruntime
    import tf2onnx

    from rnnlab.runtime import tensorflow

    if target.suffix != ".onnx":
        raise RunError(f"--out {target}: an ONNX model is a file ending in .onnx; e.g. --out {target.with_suffix('.onnx')}")
    tf = tensorflow()
    first = model.inputs[0]
    signature = (tf.TensorSpec((None, *first.shape[1:]), first.dtype, name=INPUT_NAME),)
    function = tf.function(lambda x: model(x, training=False))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    data = proto.SerializeToString()
    atomic.write_with(target, lambda tmp: Path(tmp).write_bytes(data))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = sample_batch(model, spec)
    keras_out = np.asarray(model(x, training=False))
    onnx_out = session.run(None, {INPUT_NAME: x})[0]
    return Parity(len(x), float(np.max(np.abs(keras_out - onnx_out))))
