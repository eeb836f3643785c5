"""Gradients: training.log_gradients' columns in history.csv, and ‖∂loss/∂h_t‖ of a trained run with its picture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.config import load_config
from rnnlab.errors import ConfigError, RunError
from rnnlab.run.files import GRADIENT_COLUMNS, RunFiles, read_history
from tests.conftest import shipped_config, write_config


def trained(cli, config: Path, name: str) -> RunFiles:
    result = cli("train", str(config), "--quiet")
    assert result.exit_code == 0, result.output
    return RunFiles(config.parent / "checkpoints" / name)


def test_a_tiny_clipnorm_clips_every_step_and_the_model_reloads(cli, tmp_path: Path) -> None:
    training = {
        "epochs": 3,
        "batch_size": 2,
        "log_gradients": True,
        "clipnorm": 1e-6,
        "steps_per_execution": 2,
        "jit_compile": False,
    }
    files = trained(cli, shipped_config("alphabet_onehot", tmp_path, training=training), "alphabet_onehot")
    history = read_history(files.history)
    assert history["clip_rate"] == [1.0, 1.0, 1.0]
    assert all(0 < mean <= largest for mean, largest in zip(history["grad_norm_mean"], history["grad_norm_max"]))
    metrics = json.loads(files.metrics.read_text())
    assert not set(GRADIENT_COLUMNS) & set(metrics["best"]), "gradient columns are not model metrics"

    from rnnlab.commands.predict import RunPredictor, open_answerer
    from rnnlab.run.opening import load_saved_model, open_run

    model = load_saved_model(files)
    assert type(model.optimizer).__name__ == "LoggedAdam" and model.optimizer.gradient_tallies[0].numpy() == 3
    predictor = RunPredictor(open_run(files.root), engine="keras")
    assert predictor(np.array([[0]])).shape == (1, 5) and predictor.backend == "keras"
    assert open_answerer(files.root, ()).answer(["a"], {})[0].line.startswith("a -> ")


def test_the_mean_norm_is_the_norm_of_the_one_step_and_unclipped_runs_report_zero(cli, tmp_path: Path) -> None:
    """One step per epoch (all 5 samples in one batch): the logged norm is that step's global gradient norm."""
    from rnnlab.data import dataset
    from rnnlab.model.builder import build_model, loss_and_metrics, model_inputs
    from rnnlab.runtime import keras, tensorflow

    training = {"epochs": 1, "batch_size": 5, "log_gradients": True}
    config_path = shipped_config("alphabet_embedding", tmp_path, training=training)
    files = trained(cli, config_path, "alphabet_embedding")
    history = read_history(files.history)
    assert history["clip_rate"] == [0.0]

    config = load_config(config_path)
    data = dataset("alphabet").load(config.data, seed=config.experiment.seed, validation_split=0.0)
    keras().utils.set_random_seed(config.experiment.seed)
    model = build_model(config.model, data.spec)
    tf = tensorflow()
    loss_fn, _ = loss_and_metrics(data.spec)
    with tf.GradientTape() as tape:
        loss = loss_fn(data.train.y, model(model_inputs(data.train.x, data.spec, "embedding")))
    norm = tf.linalg.global_norm([tf.convert_to_tensor(g) for g in tape.gradient(loss, model.trainable_variables)])
    assert history["grad_norm_mean"][0] == pytest.approx(float(norm), rel=1e-4)
    assert history["grad_norm_max"] == history["grad_norm_mean"]


def test_continuing_keeps_the_logging_it_was_trained_with(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1, "log_gradients": True})
    trained(cli, config, "alphabet_onehot")
    again = cli("train", str(config), "--quiet", "--set", "training.log_gradients=false")
    assert again.exit_code == 2
    assert again.stderr.strip() == (
        f"error: {tmp_path / 'checkpoints' / 'alphabet_onehot'}: this run was trained with training.log_gradients=true "
        "but the config says false; set it back, or pass --fresh to `rnnlab train` to start over"
    )
    assert len(read_history(RunFiles(tmp_path / "checkpoints" / "alphabet_onehot").history)["clip_rate"]) == 1


def test_log_gradients_is_for_one_device(tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"log_gradients": True, "distribute": "mirrored"})
    with pytest.raises(ConfigError, match="log_gradients counts one device's steps"):
        load_config(config)


def longdep_run(folder: Path, layer: str, **model: object) -> Path:
    config = write_config(
        folder,
        f"longdep_{layer}",
        {
            "experiment": {"output_root": str(folder / "checkpoints")},
            "data": {"dataset": "longdep", "length": 30, "samples": 256},
            "model": {"layer": layer, "units": 8, **model},
            "training": {"epochs": 2, "batch_size": 32, "validation_split": 0.25},
        },
    )
    from rnnlab.train.trainer import train

    return train(load_config(config), verbose=0).run_dir


@pytest.fixture(scope="module")
def simple_rnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return longdep_run(tmp_path_factory.mktemp("longdep"), "simple_rnn")


def test_a_simple_rnns_gradient_vanishes_with_distance_from_the_end(simple_rnn_run: Path) -> None:
    from rnnlab.train.gradients import run_hidden_gradients

    found = run_hidden_gradients(simple_rnn_run, samples=32)
    assert (found.run, found.layer, found.split, found.samples) == ("longdep_simple_rnn", "simple_rnn_1", "validation", 32)
    norms = found.norms
    assert norms.shape == (31,) and np.all(norms > 0)
    early, late = norms[:5].mean(), norms[-5:].mean()
    assert early < late / 20, norms
    assert np.all(np.diff(np.log(norms[-10:])) > 0), "closer to the end, a larger gradient"


def test_the_same_from_the_model_and_batch_directly(simple_rnn_run: Path) -> None:
    """The per-sample norms do not depend on how many samples share the batch (the loss is their sum)."""
    from rnnlab.data import dataset
    from rnnlab.run.opening import load_saved_model, open_run
    from rnnlab.train.gradients import hidden_gradient_norms

    run = open_run(simple_rnn_run)
    data = dataset("longdep").load(run.config.data, seed=run.config.experiment.seed, validation_split=0.25)
    model = load_saved_model(run.files)
    assert data.validation is not None
    x, y = data.validation.x[:8], data.validation.y[:8]
    each = [hidden_gradient_norms(model, run.spec, "onehot", x[i : i + 1], y[i : i + 1]) for i in range(8)]
    np.testing.assert_allclose(hidden_gradient_norms(model, run.spec, "onehot", x, y), np.mean(each, axis=0), rtol=1e-4)


def test_a_bidirectional_run_is_refused(tmp_path: Path) -> None:
    from rnnlab.train.gradients import run_hidden_gradients

    run = longdep_run(tmp_path, "gru", bidirectional=True)
    with pytest.raises(RunError, match="bidirectional_1 is bidirectional"):
        run_hidden_gradients(run)


def test_the_picture_has_a_log_axis_labels_and_the_run_names(tmp_path: Path) -> None:
    from rnnlab.run.plots import gradient_figure, save_png

    norms = {"longdep_simplernn": 0.5 ** np.arange(30)[::-1], "longdep_lstm": np.full(30, 0.3)}
    fig = gradient_figure(norms)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel().startswith("time step t") and "h_t" in ax.get_ylabel()
    assert "longdep_simplernn" in ax.get_title() and "longdep_lstm" in ax.get_title()
    assert [line.get_label() for line in ax.get_lines()] == list(norms)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), norms["longdep_simplernn"])
    save_png(fig, tmp_path / "gradients.png")
    assert (tmp_path / "gradients.png").read_bytes().startswith(b"\x89PNG")
