"""The NumPy engine: the textbook equations, its weights file, and answers equal to Keras's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rnnlab.commands.predict import Answerer, RunPredictor
from rnnlab.config import ModelConfig, load_config
from rnnlab.data import alphabet
from rnnlab.data.contract import Predictor, TaskSpec
from rnnlab.data.sampling import generate
from rnnlab.model.builder import build_model
from rnnlab.model.numpy_engine import LayerWeights, Network, Unsupported, keras_layers, load_network, save_weights
from rnnlab.run.opening import open_run
from rnnlab.runtime import keras
from rnnlab.train.trainer import train
from tests.conftest import CONFIGS, PROJECT, shipped_config

BUILT_IN = ("alphabet", "hello", "regression")


def shipped_names(*datasets: str) -> list[str]:
    return sorted(
        p.stem for p in CONFIGS.glob("*.yaml") if yaml.safe_load(p.read_text(encoding="utf-8"))["data"]["dataset"] in datasets
    )


SHIPPED = shipped_names(*BUILT_IN)
LYRICS = shipped_names("lyrics")
CORPUS = "分开 我想就这样牵着你的手不放开 不分开 爱可不可以简简单单没有伤害 " * 60
INPUTS = {"hello": ["hello", "ohlol", "hel"], "regression": ["1,2;2,3;3,4", "5,6;6,7;7,8", "0,0;1,1;9,9"]}


def test_simple_rnn_follows_the_lesson_by_hand() -> None:
    config = {"units": 3, "activation": None, "return_sequences": True}
    weights = [np.array([[1, 0, 2], [2, 1, 3]]), np.array([[1, 2, 1], [1, 0, 1], [0, 1, 0]]), np.array([0, 0, 1])]
    out = Network([LayerWeights("SimpleRNN", config, weights)])(np.array([[[1, 3], [1, 1], [2, 3]]]))
    assert out[0].tolist() == [[7, 3, 12], [13, 27, 16], [48, 45, 54]]


def test_lstm_step_matches_the_gate_equations_written_out() -> None:
    rng = np.random.default_rng(1)
    kernel, recurrent, bias = rng.normal(size=(2, 8)), rng.normal(size=(2, 8)), rng.normal(size=8)
    layer = Network([LayerWeights("LSTM", {"units": 2}, [kernel, recurrent, bias])]).layers[0]
    x, h, c = rng.normal(size=(1, 2)), rng.normal(size=(1, 2)), rng.normal(size=(1, 2))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = x @ kernel + h @ recurrent + bias
    c_new = sig(z[:, 2:4]) * c + sig(z[:, 0:2]) * np.tanh(z[:, 4:6])
    (h_out, c_out), _ = layer.step([h, c], x)
    np.testing.assert_allclose(c_out, c_new, atol=1e-12)
    np.testing.assert_allclose(h_out, sig(z[:, 6:8]) * np.tanh(c_new), atol=1e-12)


@pytest.mark.parametrize("layer", ["simple_rnn", "lstm", "gru"])
def test_stepping_one_character_at_a_time_equals_the_whole_sequence(layer: str) -> None:
    spec = TaskSpec(kind="language_model", timesteps=None, vocab_size=6, num_classes=6)
    model = build_model(ModelConfig(layer=layer, encoding="embedding", units=5, num_layers=2), spec)
    engine = Network(keras_layers(model))
    ids = np.random.default_rng(0).integers(0, 6, size=(3, 7))
    whole = engine(ids)
    state, stepped = engine.initial_state(3), []
    for t in range(ids.shape[1]):
        state, out = engine.step(state, ids[:, t])
        stepped.append(out)
    np.testing.assert_allclose(np.stack(stepped, axis=1), whole, atol=1e-12)
    np.testing.assert_allclose(whole, np.asarray(model(ids)), atol=1e-5)


def test_gru_without_reset_after_matches_keras() -> None:
    k = keras()
    model = k.Sequential([k.Input((4, 3)), k.layers.GRU(5, reset_after=False, return_sequences=True)])
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(Network(keras_layers(model))(x), np.asarray(model(x)), atol=1e-5)


@pytest.mark.parametrize(("pooling", "bidirectional"), [("max", False), ("mean", True), ("last", True)])
def test_pooled_and_dropout_heads_match_keras(pooling: str, bidirectional: bool) -> None:
    cfg = ModelConfig(
        layer="lstm",
        encoding="embedding",
        units=4,
        pooling=pooling,
        bidirectional=bidirectional,
        output_dropout=0.5,
        embedding_dropout=0.3,
    )
    model = build_model(cfg, TaskSpec(kind="binary", timesteps=6, vocab_size=9))
    engine = Network(keras_layers(model))
    ids = np.random.default_rng(1).integers(0, 9, size=(5, 6))
    np.testing.assert_allclose(engine(ids), np.asarray(model(ids)), atol=1e-5)
    pooled = [layer for layer in model.layers if "pooling" in layer.name]
    assert len(pooled) == (pooling != "last")


def test_weights_file_reloads_without_pickle_and_refuses_unknown_layers(tmp_path: Path) -> None:
    k = keras()
    model = build_model(ModelConfig(layer="gru", bidirectional=True, units=3), TaskSpec(kind="binary", timesteps=4, features=2))
    save_weights(model, tmp_path / "w.npz")
    x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(load_network(tmp_path / "w.npz")(x), np.asarray(model(x)), atol=1e-5)
    convolved = k.Sequential([k.Input((4, 2)), k.layers.Conv1D(2, 2), k.layers.SimpleRNN(2)])
    save_weights(convolved, tmp_path / "convolved.npz")
    with pytest.raises(Unsupported, match="Conv1D"):
        load_network(tmp_path / "convolved.npz")


@pytest.mark.parametrize(
    ("layer", "pooling", "bidirectional", "num_layers"),
    [("lstm", "mean", True, 1), ("lstm", "max", True, 1), ("gru", "last", False, 2), ("simple_rnn", "last", True, 2)],
)
def test_masked_padding_matches_keras_pre_and_post(layer: str, pooling: str, bidirectional: bool, num_layers: int) -> None:
    """data.mask_padding: padded steps keep the state (and a Bidirectional's outputs there are zeros),
    mean pooling counts only real steps, as Keras computes it, so predict needs no TensorFlow."""
    cfg = ModelConfig(
        layer=layer, encoding="embedding", units=4, pooling=pooling, bidirectional=bidirectional, num_layers=num_layers
    )
    model = build_model(cfg, TaskSpec(kind="binary", timesteps=None, vocab_size=9, mask_padding=True))
    engine = Network(keras_layers(model))
    ids = np.random.default_rng(2).integers(1, 9, size=(4, 7))
    ids[0, :3] = ids[1, 5:] = ids[2, :6] = 0
    np.testing.assert_allclose(engine(ids), np.asarray(model(ids)), atol=1e-5)
    assert not np.allclose(engine(ids), Network(keras_layers(build_unmasked(model)))(ids), atol=1e-3)


def build_unmasked(model: Any) -> Any:
    """The same layers and weights with the Embedding's mask off."""
    k = keras()
    clone = k.models.clone_model(model, clone_function=lambda layer: unmasked_copy(layer, k))
    clone.set_weights(model.get_weights())
    return clone


def unmasked_copy(layer: Any, k: Any) -> Any:
    config = layer.get_config()
    if isinstance(layer, k.layers.Embedding):
        config["mask_zero"] = False
    return type(layer).from_config(config)


@pytest.fixture(scope="module")
def shipped_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every shipped config the engine covers, trained for one epoch (agreement needs no accuracy)."""
    folder = tmp_path_factory.mktemp("shipped")
    return {name: train(load_config(shipped_config(name, folder, training={"epochs": 1})), verbose=0).run_dir for name in SHIPPED}


@pytest.fixture(scope="module")
def lyrics_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped lyrics configs, sizes as shipped, on a small corpus written here (no download), one epoch."""
    folder = tmp_path_factory.mktemp("lyrics")
    (folder / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    data = {"path": str(folder / "corpus.txt"), "max_chars": None}
    return {
        name: train(
            load_config(shipped_config(name, folder, data=data, training={"epochs": 1, "batch_size": 4})), verbose=0
        ).run_dir
        for name in LYRICS
    }


def recording(predictor: Predictor) -> tuple[Predictor, list[np.ndarray]]:
    seen: list[np.ndarray] = []

    def spy(x: np.ndarray) -> np.ndarray:
        seen.append(np.asarray(predictor(x)))
        return seen[-1]

    return spy, seen


@pytest.mark.parametrize("name", SHIPPED)
def test_numpy_predict_equals_keras_predict(shipped_runs: dict[str, Path], name: str) -> None:
    run = open_run(shipped_runs[name])
    dataset = run.config.data.dataset
    texts = alphabet.samples(run.config.data)[0] if dataset == "alphabet" else INPUTS[dataset]
    answerer = Answerer(run)
    answerer.answer(texts[:1])
    assert answerer.backend == "numpy"
    numpy_side, from_numpy = recording(RunPredictor(run, "numpy"))
    keras_side, from_keras = recording(RunPredictor(run, "keras"))
    by_numpy = answerer.dataset.predict(run.config.data, run.state, numpy_side, texts, {})
    by_keras = answerer.dataset.predict(run.config.data, run.state, keras_side, texts, {})
    assert [p.line for p in by_numpy] == [p.line for p in by_keras]
    assert len(from_numpy) == len(from_keras) > 0
    for ours, theirs in zip(from_numpy, from_keras):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", LYRICS)
def test_numpy_generation_equals_keras_generation_on_shipped_lyrics(lyrics_runs: dict[str, Path], name: str) -> None:
    run = open_run(lyrics_runs[name])
    answerer = Answerer(run)
    answerer.answer(["分开"], {"length": 2})
    assert answerer.backend == "numpy"
    assert_same_generation(run)


def assert_same_generation(run: Any, prefix: str = "分开", length: int = 30) -> None:
    """Greedy text equal, and every step's logits close, between the NumPy engine and the Keras cells."""
    ids = [run.state["vocab"].index(c) for c in prefix]
    seen: dict[str, list[np.ndarray]] = {"numpy": [], "keras": []}

    def spying(side: str, step: Any) -> Any:
        def spy(tokens: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
            logits, state = step(tokens, state)
            seen[side].append(np.asarray(logits))
            return logits, state

        return spy

    by_numpy = generate(spying("numpy", RunPredictor(run, "numpy").step), ids, length)
    by_keras = generate(spying("keras", RunPredictor(run, "keras").step), ids, length)
    assert by_numpy == by_keras
    np.testing.assert_allclose(np.concatenate(seen["numpy"]), np.concatenate(seen["keras"]), atol=1e-4, rtol=1e-4)


PROBE = """
import runpy, sys
sys.argv = ["rnnlab", "predict", sys.argv[1], "--prefix", sys.argv[2]]
try:
    runpy.run_module("rnnlab", run_name="__main__")
except SystemExit:
    pass
print("TF_LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF_ABSENT")
"""


def predict_in_a_new_process(run_dir: Path, prefix: str) -> list[str]:
    """``rnnlab predict RUN --prefix PREFIX`` in a fresh interpreter: its output lines, then
    ``TF_ABSENT`` or ``TF_LOADED`` (whether TensorFlow or Keras was imported)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(run_dir), prefix], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout, out.stderr
    return out.stdout.splitlines()


def test_alphabet_predict_command_does_not_import_tensorflow(shipped_runs: dict[str, Path]) -> None:
    lines = predict_in_a_new_process(shipped_runs["alphabet_onehot"], "c")
    assert lines[0].startswith("c -> ") and lines[-1] == "TF_ABSENT"


def test_lyrics_predict_command_does_not_import_tensorflow(lyrics_runs: dict[str, Path]) -> None:
    lines = predict_in_a_new_process(lyrics_runs["lyrics_rnn"], "分开")
    assert lines[0].startswith("分开") and len(lines[0]) == 2 + 50, lines
    assert set(lines[0]) <= set(CORPUS) and lines[-1] == "TF_ABSENT"


def test_stale_weights_file_falls_back_to_keras(shipped_runs: dict[str, Path]) -> None:
    run = open_run(shipped_runs["alphabet_onehot"])
    os.utime(run.files.numpy_weights, (0, 0))
    try:
        answerer = Answerer(run)
        answerer.answer(["a"])
        assert answerer.backend == "keras"
    finally:
        os.utime(run.files.numpy_weights)


def test_datasets_can_step_the_numpy_engine(shipped_runs: dict[str, Path]) -> None:
    """What character-by-character generation uses: the model handed to a dataset exposes ``step``."""
    model = Answerer(open_run(shipped_runs["hello_embedding"])).model
    ids = np.array([[1, 0, 2, 2, 3]])
    state, stepped = None, []
    for t in range(ids.shape[1]):
        out, state = model.step(ids[:, t], state)
        stepped.append(out)
    assert model.backend == "numpy"
    np.testing.assert_allclose(np.stack(stepped, axis=1), model(ids), atol=1e-12)


def test_damaged_weights_file_falls_back_to_keras(shipped_runs: dict[str, Path]) -> None:
    run = open_run(shipped_runs["hello_rnn"])
    saved = run.files.numpy_weights.read_bytes()
    run.files.numpy_weights.write_bytes(saved[: len(saved) // 2])
    try:
        answerer = Answerer(run)
        assert answerer.answer(["hello"])[0].line.startswith("hello -> ")
        assert answerer.backend == "keras"
    finally:
        run.files.numpy_weights.write_bytes(saved)
