"""`rnnlab verify`: Keras agrees with the NumPy equations, and a wrong reference is caught."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.commands import verify as verify_module
from rnnlab.commands.verify import LESSON_EXPECTED, compare, grid_model, lesson_check, model_batch, verify
from rnnlab.config import load_config
from rnnlab.data.contract import TaskSpec
from rnnlab.model.numpy_engine import Network, keras_layers
from rnnlab.train.trainer import train
from tests.conftest import shipped_config

SPEC = TaskSpec(kind="tagging", timesteps=5, vocab_size=6, num_classes=6)


def test_lesson_hand_calculation_is_reproduced_exactly() -> None:
    lesson = lesson_check()
    assert lesson.keras == lesson.numpy == LESSON_EXPECTED == [[7, 3, 12], [13, 27, 16], [48, 45, 54]]
    assert "Keras    [[7, 3, 12], [13, 27, 16], [48, 45, 54]]" in lesson.text()


def test_every_layer_type_encoding_and_stacking_agrees() -> None:
    result = verify(seed=3)
    kinds = {layer.kind for check in result.checks for layer in check.layers}
    assert {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "Embedding", "Dense"} <= kinds
    assert len(result.checks) == 12 and result.passed
    assert all(layer.max_abs_diff < 1e-5 for check in result.checks for layer in check.layers)


@pytest.mark.parametrize("layer", ["simple_rnn", "lstm", "gru"])
def test_one_perturbed_reference_weight_is_caught(layer: str) -> None:
    model = grid_model(layer, "onehot", 2, True, SPEC)
    engine = Network(keras_layers(model))
    engine.layers[0].backward.recurrent[1, 2] += 0.2
    checks = compare(model, model_batch(SPEC, "onehot", np.random.default_rng(0)), engine)
    assert not checks[0].passed and checks[0].max_abs_diff > 1e-3
    assert "DIFFERS" in checks[0].line


def test_cli_exit_codes(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    lesson = cli("verify", "--lesson")
    assert lesson.exit_code == 0 and "NumPy    [[7, 3, 12], [13, 27, 16], [48, 45, 54]]" in lesson.stdout

    def wrong_reference(model):
        layers = keras_layers(model)
        layers[-1].weights[0][0, 0] += 0.5
        return layers

    monkeypatch.setattr(verify_module, "keras_layers", wrong_reference)
    broken = cli("verify", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert not report["passed"] and report["lesson"]["passed"]
    assert all(not c["layers"][-1]["passed"] and c["layers"][0]["passed"] for c in report["checks"])


def test_verify_a_trained_run_folder(cli, tmp_path: Path) -> None:
    config = shipped_config("hello_embedding", tmp_path, model={"bidirectional": True, "layer": "gru"}, training={"epochs": 2})
    run_dir = train(load_config(config), verbose=0).run_dir
    result = cli("verify", str(run_dir))
    assert result.exit_code == 0, result.output
    assert "vs NumPy from weights.npz" in result.stdout
    assert "bidirectional_2 (Bidirectional): max |Keras − NumPy|" in result.stdout
