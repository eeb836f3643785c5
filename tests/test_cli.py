"""The command line as a user meets it: fast help, one-line errors, readable output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT, shipped_config, write_config


def run_module(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "rnnlab", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


HELP_PROBE = """
import runpy, sys
sys.argv = ["rnnlab", *sys.argv[1:]]
try:
    runpy.run_module("rnnlab", run_name="__main__")
except SystemExit:
    pass
print("TF_LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF_ABSENT")
"""


def assert_no_tensorflow(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``rnnlab ARGS`` in a fresh process ends without TensorFlow in ``sys.modules``; its output."""
    out = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=60,
    )
    assert out.stdout.rstrip().endswith("TF_ABSENT"), out.stdout + out.stderr
    return out


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["predict", "--help"], ["runs", "--help"], ["init", "--help"]])
def test_help_does_not_import_tensorflow(tmp_path: Path, args: list[str]) -> None:
    out = assert_no_tensorflow(args, tmp_path)
    assert "Usage" in out.stdout


def test_train_and_predict_through_the_real_command_are_quiet(tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path)
    trained = run_module("train", str(config), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "epoch 100/100 - " in trained.stdout and "Run folder:" in trained.stdout  # a pipe: about 50 short lines
    for noise in ("oneDNN", "cuda", "port.cc", "absl", "WARNING"):
        assert noise not in trained.stderr, trained.stderr
    answered = run_module("predict", str(config), "--prefix", "c", cwd=tmp_path)
    assert answered.returncode == 0 and answered.stdout.strip() == "c -> d", answered.stderr
    assert answered.stderr == ""
    piped = run_module("predict", str(tmp_path / "checkpoints" / "alphabet_onehot"), "--json", cwd=tmp_path, stdin="a\ne\n")
    records = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [(r["input"], r["output"]) for r in records] == [("a", "b"), ("e", "a")]


def test_bad_config_is_one_line_exit_2_and_debug_shows_traceback(tmp_path: Path) -> None:
    bad = write_config(tmp_path, "bad", {"data": {"dataset": "alphabet"}, "model": {"unitz": 3}})
    result = run_module("train", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {bad}: unknown key 'model.unitz'; did you mean 'units'?"]
    assert not (tmp_path / "checkpoints").exists(), "nothing may be written for a bad config"
    debug = run_module("--debug", "train", str(bad), cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


ERRORS = [
    (["train", "missing.yaml"], "config file not found"),
    (["train", "{good}", "--set", "training.epochz=1"], "did you mean 'epochs'?"),
    (["train", "{good}", "--set", "oops"], "expected KEY=VALUE"),
    (["predict", "{good}", "--prefix", "a"], "no trained model yet; run `rnnlab train"),
    (["predict", "{folder}", "--prefix", "a"], "not a run folder"),
    (["summary", "{good}", "--set", "model.layer=transformer"], "'transformer' is not allowed"),
    (["config", "{good}", "--set", "data.window=0"], "data.window: input should be greater than or equal to 1"),
]


@pytest.mark.parametrize(("args", "expected"), ERRORS)
def test_error_paths_exit_2_without_traceback(cli, tmp_path: Path, args: list[str], expected: str) -> None:
    good = write_config(tmp_path, "good", {"data": {"dataset": "alphabet"}})
    (tmp_path / "folder").mkdir()
    argv = [a.format(good=good, folder=tmp_path / "folder") for a in args]
    result = cli(*argv)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_config_prints_every_default(cli, tmp_path: Path) -> None:
    good = write_config(tmp_path, "good", {"data": {"dataset": "alphabet"}})
    result = cli("config", str(good), "--set", "model.layer=gru")
    resolved = yaml.safe_load(result.stdout)
    assert resolved["model"]["layer"] == "gru"
    assert resolved["experiment"]["name"] == "good"
    assert resolved["training"]["checkpoint"] == {"monitor": "auto"}
    assert resolved["data"] == {"dataset": "alphabet", "letters": "abcde", "window": 1}


def test_summary_prints_formulas(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path)
    text = cli("summary", str(config))
    assert text.exit_code == 0
    assert "simple_rnn_1 (SimpleRNN): 3 × (5 + 3 + 1) = 27" in text.stdout
    as_json = json.loads(cli("summary", str(config), "--json").stdout)
    assert as_json["total_params"] == 27 + 20
    assert not (tmp_path / "checkpoints").exists(), "summary must not train or write a run"


def test_stdin_loop_reports_a_bad_line_and_goes_on(cli, tmp_path: Path) -> None:
    config = shipped_config("alphabet_onehot", tmp_path, training={"epochs": 1})
    assert cli("train", str(config)).exit_code == 0
    result = cli("predict", str(config), input="a\nz\nb\n")
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0].startswith("a -> ") and result.stdout.splitlines()[1].startswith("b -> ")
    assert "'z' not in this run's letters" in result.stderr


@pytest.mark.parametrize(
    ("words", "expected"),
    [("rnnlab ex", "export"), ("rnnlab plot checkpoints/", "checkpoints/demo"), ("rnnlab init x --dataset a", "alphabet")],
)
def test_shell_completion_answers_without_tensorflow(tmp_path: Path, words: str, expected: str) -> None:
    """What the shell runs on <TAB> once `rnnlab --install-completion` is set up."""
    (tmp_path / "checkpoints" / "demo").mkdir(parents=True)
    (tmp_path / "checkpoints" / "demo" / "config.yaml").write_text("data: {dataset: alphabet}\n")
    (tmp_path / "checkpoints" / "junk").mkdir()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "_RNNLAB_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
    out = subprocess.run([sys.executable, "-c", HELP_PROBE], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    *answer, verdict = out.stdout.splitlines()
    assert expected in "\n".join(answer) and "junk" not in "\n".join(answer), out.stdout + out.stderr
    assert verdict == "TF_ABSENT"


def test_runs_plot_and_init_do_not_import_tensorflow(tiny_runs: dict[str, Path], tmp_path: Path) -> None:
    run = str(tiny_runs["onehot_val"])
    for args in (["runs", str(Path(run).parent)], ["plot", run, "--metric", "loss"], ["init", "demo"]):
        assert_no_tensorflow(args, tmp_path)
