"""A trained run as a model a serving stack loads without rnnlab: a ``.keras`` file or a TF SavedModel.

The exported model is the run's ``model.keras`` (what ``rnnlab predict`` answers with), so both
give the same numbers. It takes what the model takes: token ids, or their one-hot vectors for
``encoding: onehot``, in the order of the run's ``vocab.json``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab import atomic
from rnnlab.errors import RunError
from rnnlab.run.opening import Run, load_saved_model, open_run

FORMATS = ("keras", "saved_model", "onnx")


@dataclass
class Exported:
    path: Path
    format: str
    input_shape: tuple[int | None, ...]
    input_dtype: str
    input_meaning: str
    parity: Any = None
    """``--format onnx``: onnxruntime against Keras on a batch (``onnx_export.Parity``)."""

    def describe_input(self) -> str:
        return f"{self.input_dtype} {self.input_shape}: {self.input_meaning}"

    def how_to_load(self) -> str:
        where = repr(str(self.path))
        if self.format == "keras":
            return f"keras.saving.load_model({where}, safe_mode=True)"
        if self.format == "onnx":
            return f"onnxruntime.InferenceSession({where}).run(None, {{'inputs': x}})"
        return f"served = tf.saved_model.load({str(self.path)!r}); served.serve(x) (or TF Serving, keras.layers.TFSMLayer)"


def input_meaning(run: Run) -> str:
    if not run.spec.token_input:
        return "feature vectors, as the dataset prepares them"
    if run.config.model.encoding == "onehot":
        return "one-hot vectors of the token ids in vocab.json"
    return "token ids from vocab.json"


def default_target(run: Run, fmt: str) -> Path:
    return run.files.export / {"keras": "model.keras", "onnx": "model.onnx"}.get(fmt, "saved_model")


def export_keras(run: Run, target: Path) -> None:
    if target.suffix != ".keras":
        raise RunError(f"--out {target}: Keras loads only files ending in .keras; e.g. --out {target.with_suffix('.keras')}")
    atomic.write_with(target, lambda tmp: shutil.copyfile(run.files.model, tmp))


def export_saved_model(model: object, target: Path) -> None:
    """Export into a temporary sibling, then swap it in, so a failed export never leaves half a SavedModel."""
    if target.exists() and not (target / "saved_model.pb").is_file():
        raise RunError(f"--out {target}: exists and is not a SavedModel; choose another --out or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    old = target.parent / f".{target.name}-old"
    try:
        model.export(str(staging / "model"), format="tf_saved_model", verbose=False)  # type: ignore[attr-defined]
        if target.exists():
            os.replace(target, old)
        os.replace(staging / "model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(old)


def export_run(target: str | Path, fmt: str = "keras", out: str | Path | None = None) -> Exported:
    if fmt not in FORMATS:
        raise RunError(f"--format {fmt!r}: unknown export format; use one of {', '.join(FORMATS)}")
    run = open_run(target)
    path = Path(out) if out is not None else default_target(run, fmt)
    model = load_saved_model(run.files)
    parity = None
    if fmt == "keras":
        export_keras(run, path)
    elif fmt == "onnx":
        from rnnlab.commands.onnx_export import export_onnx

        parity = export_onnx(model, run.spec, path)
    else:
        export_saved_model(model, path)
    first = model.inputs[0]
    return Exported(path, fmt, tuple(first.shape), str(first.dtype), input_meaning(run), parity)
