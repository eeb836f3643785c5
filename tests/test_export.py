"""`rnnlab export`: a .keras file and a SavedModel that load in a fresh process and give the run's numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.commands.export import export_run
from rnnlab.errors import RunError
from rnnlab.runtime import keras

RELOAD = """
import json, sys
import numpy as np
import keras, tensorflow as tf
keras_path, saved_path, inputs = sys.argv[1:]
x = np.load(inputs)
from_keras = np.asarray(keras.saving.load_model(keras_path, safe_mode=True)(x))
served = tf.saved_model.load(saved_path)
from_saved = np.asarray(served.serve(tf.constant(x)))
print(json.dumps({"keras": from_keras.tolist(), "saved_model": from_saved.tolist(), "modules": "rnnlab" in sys.modules}))
"""


def test_exports_reload_in_a_fresh_process_with_equal_outputs(cli, tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    run = tiny_runs["onehot_val"]
    as_keras = cli("export", str(run), "--format", "keras", "--out", str(tmp_path / "served.keras"))
    assert as_keras.exit_code == 0, as_keras.output
    assert "input float32 (None, 1, 5): one-hot vectors of the token ids in vocab.json" in as_keras.stdout
    saved = export_run(run, "saved_model", tmp_path / "saved")
    assert (saved.path / "saved_model.pb").is_file()
    x = np.eye(5, dtype=np.float32)[:, None, :]
    np.save(tmp_path / "x.npy", x)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path / "served.keras"), str(saved.path), str(tmp_path / "x.npy")],
        cwd=tmp_path,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    reloaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert reloaded["modules"] is False, "the fresh process must not need rnnlab"
    expected = np.asarray(keras().saving.load_model(run / "model.keras")(x))
    np.testing.assert_allclose(np.array(reloaded["keras"]), expected, atol=1e-6)
    np.testing.assert_allclose(np.array(reloaded["saved_model"]), expected, atol=1e-5)


def test_default_targets_sit_in_the_run_folder_and_are_replaced(tiny_runs: dict[str, Path]) -> None:
    run = tiny_runs["gru_embed"]
    first = export_run(run, "saved_model")
    assert first.path == run / "export" / "saved_model" and first.input_meaning == "token ids from vocab.json"
    again = export_run(run, "saved_model")
    assert (again.path / "saved_model.pb").is_file()
    assert [p.name for p in (run / "export").iterdir()] == ["saved_model"], "no staging folders left behind"
    assert export_run(run).path == run / "export" / "model.keras"


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        ("tflite", None, "unknown export format; use one of keras, saved_model, onnx"),
        ("onnx", "model.pb", "an ONNX model is a file ending in .onnx"),
        ("keras", "model.h5", "Keras loads only files ending in .keras"),
        ("saved_model", "taken", "exists and is not a SavedModel"),
    ],
)
def test_bad_requests_are_refused(tiny_runs: dict[str, Path], tmp_path: Path, fmt: str, out: str | None, expected: str) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(RunError, match=expected):
        export_run(tiny_runs["onehot_val"], fmt, tmp_path / out if out else None)
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_cli_refuses_a_folder_that_is_not_a_run(cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("export", str(tmp_path / "empty"))
    assert result.exit_code == 2 and "not a run folder" in result.stderr


ONNX_RELOAD = """
import json, sys
import numpy as np
import onnxruntime
path, inputs = sys.argv[1:]
session = onnxruntime.InferenceSession(path)
print(json.dumps({"out": session.run(None, {"inputs": np.load(inputs)})[0].tolist(), "rnnlab": "rnnlab" in sys.modules}))
"""


@pytest.mark.parametrize("run_name", ["onehot_val", "gru_embed"])
def test_onnx_export_matches_keras(cli, tiny_runs: dict[str, Path], tmp_path: Path, run_name: str) -> None:
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    run = tiny_runs[run_name]
    result = cli("export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Exported {tmp_path / 'm.onnx'} (onnx); input ")
    assert lines[-1].startswith("Check: onnxruntime matches Keras on a batch of 8: max |difference| ")
    # and in a fresh process without rnnlab, on the run's own inputs
    model = keras().saving.load_model(run / "model.keras", safe_mode=False)
    x = (
        np.eye(5, dtype=np.float32)[:, None, :]
        if run_name == "onehot_val"
        else np.arange(5, dtype=model.inputs[0].dtype)[:, None]
    )
    np.save(tmp_path / "x.npy", x)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", ONNX_RELOAD, str(tmp_path / "m.onnx"), str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    reloaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert not reloaded["rnnlab"]
    assert np.abs(np.asarray(reloaded["out"]) - np.asarray(model(x))).max() < 1e-5


def test_onnx_without_the_extra_is_one_line(cli, tiny_runs: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    result = cli("export", str(tiny_runs["gru_embed"]), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert result.exit_code == 2 and "pip install -e '.[onnx]'" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()
