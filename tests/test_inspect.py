"""``rnnlab inspect``: the arrays behind its pictures are what Keras computes for the same input, the
pictures are readable PNGs, and bad requests end in one ``error:`` line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab.commands.inspect import EmbeddingMap, Inspection, inspect_run
from rnnlab.model.builder import model_inputs
from rnnlab.model.numpy_engine import Trace
from rnnlab.run.files import RunFiles
from rnnlab.run.inspect_plots import INSPECT_WRITER
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.run.plots import written_by
from tests.conftest import shipped_config, write_config
from tests.test_cli import assert_no_tensorflow

CORPUS = "分开 我想就这样牵着你的手不放开 不分开 爱可不可以简简单单没有伤害 " * 20
LYRICS_STEPS = 6
INPUTS = {
    "alphabet_onehot": "cde",
    "alphabet_embedding": "bcde",
    "lyrics_lstm": "分开",
    "hello_stacked": "hello",
    "regression_gru": "1,2;2,3;3,4",
    "hello_bilstm": "hel",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained run per case: one-hot and Embedding alphabets, a stateful LSTM language model,
    stacked SimpleRNNs, a GRU on vectors and stacked bidirectional LSTMs."""
    from rnnlab.config import load_config
    from rnnlab.train.trainer import train

    folder = tmp_path_factory.mktemp("inspect_runs")
    (folder / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    lyrics = {
        "experiment": {"name": "lyrics_lstm", "output_root": str(folder / "checkpoints")},
        "data": {"dataset": "lyrics", "path": str(folder / "corpus.txt"), "num_steps": LYRICS_STEPS},
        "model": {"encoding": "embedding", "embedding_dim": 4, "layer": "lstm", "units": 6},
        "training": {"epochs": 1, "batch_size": 4},
    }
    configs = {
        "alphabet_onehot": shipped_config(
            "alphabet_onehot", folder, experiment={"name": "alphabet_onehot"}, data={"window": 3}, training={"epochs": 2}
        ),
        "alphabet_embedding": shipped_config(
            "alphabet4_embedding", folder, experiment={"name": "alphabet_embedding"}, training={"epochs": 2}
        ),
        "lyrics_lstm": write_config(folder, "lyrics_lstm", lyrics),
        "hello_stacked": shipped_config("hello_embedding", folder, experiment={"name": "hello_stacked"}, training={"epochs": 2}),
        "regression_gru": shipped_config(
            "regression_rnn",
            folder,
            experiment={"name": "regression_gru"},
            model={"layer": "gru", "units": 4},
            training={"epochs": 2},
        ),
        "hello_bilstm": shipped_config(
            "hello_rnn",
            folder,
            experiment={"name": "hello_bilstm"},
            model={"layer": "lstm", "units": 3, "num_layers": 2, "bidirectional": True},
            training={"epochs": 2},
        ),
    }
    return {name: train(load_config(path), verbose=0).run_dir for name, path in configs.items()}


def inspected(run: Path, tmp_path: Path) -> Inspection:
    found = inspect_run(run, INPUTS[run.name], out=tmp_path / "pictures")
    assert isinstance(found, Inspection)
    return found


def with_changes(config: Any, **changes: Any) -> Any:
    """A layer config with ``changes`` applied wherever the key occurs (a Bidirectional's inner layers too)."""
    if isinstance(config, dict):
        return {k: changes[k] if k in changes else with_changes(v, **changes) for k, v in config.items()}
    return config


def keras_copy(layer: Any, x: np.ndarray, **changes: Any) -> np.ndarray:
    """Keras's own output of ``layer`` (same weights, config changed) for ``x``."""
    copy = type(layer).from_config(with_changes(layer.get_config(), stateful=False, **changes))
    copy(x)
    copy.set_weights(layer.get_weights())
    return np.asarray(copy(x))


def keras_reference(run: Path, found: Inspection) -> tuple[list[tuple[Any, np.ndarray, np.ndarray]], np.ndarray]:
    """Per recurrent layer of the saved model: the layer, its input and its whole output sequence,
    each computed by Keras; and the model's output."""
    opened = open_run(run)
    model = load_saved_model(RunFiles(run))
    x = model_inputs(found.x, opened.spec, opened.config.model.encoding)
    recurrent = []
    for layer in model.layers:
        if hasattr(layer, "return_sequences"):
            recurrent.append((layer, np.asarray(x), keras_copy(layer, x, return_sequences=True)))
            x = keras_copy(layer, x)
        else:
            x = np.asarray(layer(x))
    return recurrent, np.asarray(x)


def per_layer(traces: list[Trace]) -> list[np.ndarray]:
    """Our h per Keras layer: a Bidirectional layer's directions side by side, as Keras concatenates them."""
    layers = list(dict.fromkeys(t.layer for t in traces))
    return [np.concatenate([t.h for t in traces if t.layer == name], axis=-1) for name in layers]


@pytest.mark.parametrize("name", list(INPUTS))
def test_hidden_states_and_answer_equal_keras_for_every_step(runs: dict[str, Path], tmp_path: Path, name: str) -> None:
    found = inspected(runs[name], tmp_path)
    recurrent, output = keras_reference(runs[name], found)
    ours = per_layer(found.traces)
    assert len(ours) == len(recurrent) and found.x.shape[1] == len(found.tokens)
    for h, (_, _, expected) in zip(ours, recurrent):
        assert h.shape == expected.shape
        np.testing.assert_allclose(h, expected, atol=1e-5)
    probabilities = softmax(output) if found.outputs.kind == "language_model" else output
    if found.outputs.kind == "regression":
        np.testing.assert_allclose(found.outputs.values, output.reshape(-1), rtol=1e-5, atol=1e-4)
    else:
        np.testing.assert_allclose(found.outputs.values, probabilities[0], atol=1e-5)


def test_tokens_are_the_inputs_characters_words_or_step_numbers(runs: dict[str, Path], tmp_path: Path) -> None:
    assert inspected(runs["lyrics_lstm"], tmp_path).tokens == ["分", "开"]
    assert inspected(runs["hello_stacked"], tmp_path).tokens == list("hello")
    assert inspected(runs["regression_gru"], tmp_path).tokens == ["1", "2", "3"]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def previous(h: np.ndarray, t: int, backwards: bool) -> np.ndarray:
    """h_{t-1} in reading order: the step before (forwards) or after (backwards) t, zeros at the start."""
    before = t + 1 if backwards else t - 1
    return h[:, before] if 0 <= before < h.shape[1] else np.zeros_like(h[:, 0])


def lstm_gates_by_hand(layer: Any, x: np.ndarray, h: np.ndarray, backwards: bool = False) -> dict[str, np.ndarray]:
    """The LSTM's gates from the Keras layer's own weights and Keras's h_{t-1}."""
    kernel, recurrent, bias = layer.get_weights()
    steps = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    gates: dict[str, list[np.ndarray]] = {g: [None] * x.shape[1] for g in ("input", "forget", "candidate", "output", "cell")}  # type: ignore[list-item]
    c = np.zeros_like(h[:, 0])
    for t in steps:
        z_i, z_f, z_c, z_o = np.split(x[:, t] @ kernel + previous(h, t, backwards) @ recurrent + bias, 4, axis=-1)
        i, f, candidate, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_c), sigmoid(z_o)
        c = f * c + i * candidate
        np.testing.assert_allclose(o * np.tanh(c), h[:, t], atol=1e-5)
        for name, value in zip(gates, (i, f, candidate, o, c)):
            gates[name][t] = value
    return {name: np.stack(values, axis=1) for name, values in gates.items()}


def test_lstm_gates_equal_the_keras_cells_equations(runs: dict[str, Path], tmp_path: Path) -> None:
    for name in ("lyrics_lstm", "hello_bilstm"):
        found = inspected(runs[name], tmp_path)
        recurrent, _ = keras_reference(runs[name], found)
        layer, x, h = recurrent[0]
        traces = [t for t in found.traces if t.layer == layer.name]
        if len(traces) == 1:
            directions = [(layer, h, False)]
        else:
            units = h.shape[-1] // 2
            directions = [(layer.forward_layer, h[..., :units], False), (layer.backward_layer, h[..., units:], True)]
        for trace, (cell_layer, h_half, backwards) in zip(traces, directions):
            expected = lstm_gates_by_hand(cell_layer, x, h_half, backwards)
            assert list(trace.gates) == list(expected)
            for gate, values in expected.items():
                np.testing.assert_allclose(trace.gates[gate], values, atol=1e-5, err_msg=f"{name} {trace.direction} {gate}")


def test_gru_gates_equal_the_keras_cells_equations(runs: dict[str, Path], tmp_path: Path) -> None:
    found = inspected(runs["regression_gru"], tmp_path)
    ((layer, x, h),) = keras_reference(runs["regression_gru"], found)[0]
    kernel, recurrent, bias = layer.get_weights()
    (trace,) = found.traces
    for t in range(x.shape[1]):
        h_prev = previous(h, t, False)
        x_z, x_r, x_h = np.split(x[:, t] @ kernel + bias[0], 3, axis=-1)
        h_z, h_r, h_h = np.split(h_prev @ recurrent + bias[1], 3, axis=-1)
        z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        candidate = np.tanh(x_h + r * h_h)
        np.testing.assert_allclose(z * h_prev + (1 - z) * candidate, h[:, t], atol=1e-5)
        for gate, value in (("update", z), ("reset", r), ("candidate", candidate)):
            np.testing.assert_allclose(trace.gates[gate][:, t], value, atol=1e-5, err_msg=gate)


def assert_readable_png(path: Path) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert 200 <= height <= 3000 and 300 <= width <= 2600, (path.name, image.shape)
    assert image[..., :3].std() > 0.05, f"{path.name} is blank"
    assert written_by(path) == INSPECT_WRITER


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_picture_is_a_readable_png(runs: dict[str, Path], tmp_path: Path, name: str) -> None:
    found = inspected(runs[name], tmp_path)
    names = sorted(p.name for p in found.files)
    layers = dict.fromkeys(t.layer for t in found.traces)
    gated = {t.layer for t in found.traces if t.gates}
    expected = [f"hidden_{n}.png" for n in layers] + [f"gates_{n}.png" for n in gated] + ["outputs.png"]
    assert names == sorted(expected)
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == names
    for path in found.files:
        assert_readable_png(path)


def test_default_folder_is_the_runs_inspect_and_text_names_each_picture(cli, runs: dict[str, Path]) -> None:
    result = cli("inspect", str(runs["hello_stacked"]), "--input", "hell")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Prediction: hell -> ")
    folder = runs["hello_stacked"] / "inspect"
    assert {line.split(":")[0].removeprefix("Wrote ") for line in lines[1:]} == {str(p) for p in folder.iterdir()}
    assert (folder / "hidden_simple_rnn_2.png").is_file() and (folder / "outputs.png").is_file()


def test_json_holds_the_arrays_and_the_files(cli, runs: dict[str, Path], tmp_path: Path) -> None:
    result = cli("inspect", str(runs["lyrics_lstm"]), "--input", "不分开", "--json", "--out", str(tmp_path / "j"))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["tokens"] == ["不", "分", "开"] and record["input"] == "不分开"
    (layer,) = record["layers"]
    assert layer["kind"] == "LSTM" and np.array(layer["h"]).shape == (3, 6)
    assert sorted(layer["gates"]) == ["candidate", "cell", "forget", "input", "output"]
    assert all(np.array(g).shape == (3, 6) for g in layer["gates"].values())
    gates = np.array([layer["gates"][g] for g in ("input", "forget", "output")])
    assert gates.min() >= 0 and gates.max() <= 1
    top = record["output"]["top"]
    assert len(top) == 3 and all(len(step) == 5 for step in top)
    assert all(step[0]["probability"] >= step[-1]["probability"] for step in top)
    assert record["prediction"]["prefix"] == "不分开"
    assert all(Path(f).is_file() for f in record["files"])


def test_embeddings_drawn_as_learned_when_two_wide(runs: dict[str, Path], tmp_path: Path) -> None:
    found = inspect_run(runs["alphabet_embedding"], embeddings=True, out=tmp_path)
    assert isinstance(found, EmbeddingMap) and found.method == "direct"
    table = load_saved_model(RunFiles(runs["alphabet_embedding"])).get_layer("embedding").get_weights()[0]
    np.testing.assert_allclose(found.points, table, atol=1e-6)
    assert found.names == list("abcde") and found.labelled.all()
    assert [p.name for p in found.files] == ["embeddings.png"]
    assert_readable_png(tmp_path / "embeddings.png")


def test_embeddings_beyond_two_dimensions_are_the_top_principal_components(cli, runs: dict[str, Path], tmp_path: Path) -> None:
    result = cli("inspect", str(runs["lyrics_lstm"]), "--embeddings", "--top", "3", "--json", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    table = load_saved_model(RunFiles(runs["lyrics_lstm"])).get_layer("embedding").get_weights()[0].astype(np.float64)
    variances = np.sort(np.linalg.eigvalsh(np.cov(table.T)))[::-1]
    points = np.array([[p["x"], p["y"]] for p in record["points"]])
    assert record["method"] == "pca" and record["embedding_dim"] == 4 and len(points) == len(table)
    np.testing.assert_allclose(points.var(axis=0, ddof=1), variances[:2], rtol=1e-3, atol=1e-8)
    np.testing.assert_allclose(record["explained_variance"], variances[:2] / variances.sum(), atol=1e-5)
    assert sum(p["labelled"] for p in record["points"]) == 3
    vocab = json.loads((runs["lyrics_lstm"] / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    assert [p["token"] for p in record["points"]] == vocab
    assert_readable_png(tmp_path / "embeddings.png")


def test_inspect_never_imports_tensorflow(runs: dict[str, Path], tmp_path: Path) -> None:
    assert "--embeddings" in assert_no_tensorflow(["inspect", "--help"], tmp_path).stdout
    for args in (
        ["inspect", str(runs["lyrics_lstm"]), "--input", "分开", "--out", str(tmp_path / "a")],
        ["inspect", str(runs["hello_bilstm"]), "--input", "hello", "--json", "--out", str(tmp_path / "b")],
        ["inspect", str(runs["alphabet_embedding"]), "--embeddings", "--out", str(tmp_path / "c")],
    ):
        out = assert_no_tensorflow(args, tmp_path)
        assert "Traceback" not in out.stderr and (tmp_path / args[-1]).is_dir(), out.stderr


def test_each_bad_request_is_one_error_line(cli, runs: dict[str, Path], tmp_path: Path) -> None:
    untrained = write_config(tmp_path, "untrained", {"data": {"dataset": "alphabet"}})
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "outputs.png").write_bytes(b"a picture of the user's own")
    onehot, lyrics = str(runs["alphabet_onehot"]), str(runs["lyrics_lstm"])
    cases = [
        (["inspect", onehot, "--input", "cdz"], "'z' not in this run's letters"),
        (["inspect", onehot, "--input", "cd"], "has 2 letter(s) but this run reads 3"),
        (["inspect", onehot, "--input", " "], "--input is empty"),
        (["inspect", lyrics, "--input", "分开" * 4], "8 steps, but this run's model reads at most 6"),
        (["inspect", str(untrained), "--input", "abc"], "no trained model yet"),
        (["inspect", lyrics, "--input", "分开", "--embeddings"], "--input, --embeddings and --gradients draw different pictures"),
        (["inspect", lyrics], "nothing to inspect; give --input TEXT"),
        (["inspect", onehot, "--embeddings"], "no Embedding layer to draw (model.encoding: onehot)"),
        (["inspect", onehot, "--input", "cde", "--out", str(tmp_path / "a_file")], "a file, not a folder"),
        (["inspect", onehot, "--input", "cde", "--out", str(tmp_path / "theirs")], "was not written by `rnnlab inspect`"),
    ]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for args, expected in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, result.stderr)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "a refused request wrote files"
    assert not (runs["alphabet_onehot"] / "inspect").exists()


def test_gradients_are_the_trainers_measure_drawn_per_step(cli, runs: dict[str, Path], tmp_path: Path) -> None:
    from rnnlab.train.gradients import run_hidden_gradients

    run = runs["alphabet_onehot"]
    result = cli("inspect", str(run), "--gradients", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    expected = run_hidden_gradients(run).norms
    assert len(found["gradient_norms"]) == open_run(run).spec.timesteps == len(expected)
    np.testing.assert_allclose(found["gradient_norms"], expected, rtol=1e-4)
    assert all(n > 0 for n in found["gradient_norms"])
    assert found["files"] == [str(tmp_path / "gradients.png")]
    assert_readable_png(tmp_path / "gradients.png")
