"""The catalogue of bad input: every row runs the real CLI and must end in ONE ``error:`` line on
stderr, exit code 2, no traceback, and the output root exactly as it was (or still absent).

Each row's ``expected`` text is listed in the README's "Troubleshooting" table with its fix
(``test_readme_troubleshooting_lists_every_case`` keeps the two in sync). Dataset modules add their
rows (missing or corrupt data files, empty corpora, ...) to ``CASES``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT

GOOD: dict[str, Any] = {"data": {"dataset": "alphabet"}, "model": {"units": 3}, "training": {"epochs": 1}}


def good(**sections: dict[str, Any]) -> dict[str, Any]:
    """GOOD with some sections' keys replaced."""
    raw = json.loads(json.dumps(GOOD))
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return raw


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expected: str
    config: dict[str, Any] | str | bytes | None = None  # written to {cfg}; None: GOOD
    setup: str = ""  # a key of SETUPS: what the folder holds before the command runs
    name: str = "good"  # the config file's stem
    subprocess: bool = False  # also run as `python -m rnnlab` in a real process


T, P = ("train", "{cfg}"), ("predict", "{cfg}")

CASES: list[Case] = [
    # the config file itself
    Case("yaml-syntax", T, "YAML syntax error at line 2, column 6: expected ',' or '}', but got ':'", "data: {dataset: alphabet\nmodel: [units\n", subprocess=True),
    Case("yaml-tab", T, "found character '\\t' that cannot start any token", "data:\n\tdataset: alphabet\n"),
    Case("empty-file", T, "file is empty", ""),
    Case("only-comments", ("config", "{cfg}"), "file is empty", "# nothing here yet\n"),
    Case("not-a-mapping", T, "expected a mapping of sections (experiment, data, model, training), got list", "- a\n- b\n"),
    Case("python-tag", T, "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'; configs are plain YAML data, remove the tag", "data: !!python/object/apply:os.system ['echo hi']\n"),
    Case("missing-config", ("train", "missing.yaml"), "config file not found", subprocess=True),
    Case("config-is-folder", ("train", "{tmp}"), "is a folder, not a config file"),
    Case("config-not-utf8", T, "not UTF-8 text (byte 16); save the file as UTF-8", b"data: {dataset: \xff\xfe}\n"),
    Case("bad-file-stem", T, "is not a valid run name; set experiment.name", name="my run"),
    # unknown keys, at every level
    Case("unknown-section", T, "unknown key 'modle'; did you mean 'model'?", {**GOOD, "modle": {"units": 3}}, subprocess=True),
    Case("unknown-experiment-key", T, "unknown key 'experiment.sed'; did you mean 'seed'?", good(experiment={"sed": 1})),
    Case("unknown-data-key", T, "unknown key 'data.windw'; did you mean 'window'?", good(data={"windw": 2})),
    Case("unknown-model-key", T, "unknown key 'model.unitz'; did you mean 'units'?", good(model={"unitz": 3})),
    Case("unknown-training-key", T, "unknown key 'training.epoch'; did you mean 'epochs'?", good(training={"epoch": 3})),
    Case(
        "unknown-early-stopping-key", T, "unknown key 'training.early_stopping.patiense'; did you mean 'patience'?",
        good(training={"early_stopping": {"patiense": 3}}),
    ),
    Case(
        "unknown-checkpoint-key", T, "unknown key 'training.checkpoint.monitr'; did you mean 'monitor'?",
        good(training={"checkpoint": {"monitr": "loss"}}),
    ),
    # missing and wrong types
    Case("missing-data", T, "missing section 'data'", {"model": {"units": 3}}),
    Case("missing-dataset", T, "data.dataset is required; one of alphabet", {"data": {"window": 1}}),
    Case("wrong-type-int", T, "model.units: input should be a valid integer", good(model={"units": "many"})),
    Case("wrong-type-float", T, "training.learning_rate: input should be a valid number", good(training={"learning_rate": "fast"})),
    Case("section-not-mapping", T, "model must be a section (a mapping of keys)", {**GOOD, "model": [1, 2]}),
    Case("early-stopping-not-mapping", T, "training.early_stopping must be a section", good(training={"early_stopping": "maybe"})),
    # unknown names
    Case("unknown-dataset", T, "unknown dataset 'alphabt'; did you mean 'alphabet'?", {"data": {"dataset": "alphabt"}}),
    Case("unknown-encoding", T, "model.encoding: 'one-hot' is not allowed; did you mean 'onehot'?", good(model={"encoding": "one-hot"})),
    Case("unknown-layer", T, "model.layer: 'lstmm' is not allowed; did you mean 'lstm'?", good(model={"layer": "lstmm"})),
    Case("unknown-optimizer", T, "training.optimizer: 'adamm' is not allowed; did you mean", good(training={"optimizer": "adamm"})),
    Case("unknown-activation", T, "model.activation: 'swish' is not allowed; valid: tanh, relu, sigmoid, linear", good(model={"activation": "swish"})),
    # out-of-range values
    Case("units-0", T, "model.units: input should be greater than or equal to 1 (got 0)", good(model={"units": 0})),
    Case("negative-learning-rate", T, "training.learning_rate: input should be greater than 0 (got -0.1)", good(training={"learning_rate": -0.1})),
    Case("window-larger-than-data", T, "window 9 is longer than the 5 letters 'abcde'", good(data={"window": 9})),
    Case("window-0", T, "data.window: input should be greater than or equal to 1 (got 0)", good(data={"window": 0})),
    Case("dropout-1", T, "model.dropout: input should be less than 1 (got 1)", good(model={"dropout": 1})),
    Case("batch-size-0", T, "training.batch_size: input should be greater than or equal to 1 (got 0)", good(training={"batch_size": 0})),
    Case("epochs-0", T, "training.epochs: input should be greater than or equal to 1 (got 0)", good(training={"epochs": 0})),
    Case("validation-split-1", T, "training.validation_split: input should be less than 1 (got 1)", good(training={"validation_split": 1})),
    Case("clipnorm-negative", T, "training.clipnorm: input should be greater than 0 (got -1)", good(training={"clipnorm": -1})),
    Case("seed-negative", T, "experiment.seed: input should be greater than or equal to 0 (got -1)", good(experiment={"seed": -1})),
    Case("seed-too-large", T, "experiment.seed: input should be less than or equal to 4294967295", good(experiment={"seed": 2**40})),
    Case("letters-repeated", T, "letters must be distinct; repeated: 'a'", good(data={"letters": "abca"})),
    Case("letters-too-few", T, "needs at least 2 letters", good(data={"letters": "a"})),
    Case("no-training-samples", T, "training.validation_split 0.95 leaves no training samples out of 5", good(training={"validation_split": 0.95})),
    # where runs go
    Case("run-name-escapes", T, "run name '../x' must be a plain folder name", good(experiment={"name": "../x"})),
    Case("run-name-absolute", T, "run name '/tmp/x' must be a plain folder name", good(experiment={"name": "/tmp/x"})),
    Case("unwritable-output-root", T, "cannot write the run folder", good(experiment={"output_root": "occupied/sub"}), setup="output_root_is_file"),
    # --set
    Case("set-no-equals", (*T, "--set", "oops"), "--set 'oops': expected KEY=VALUE with a dotted key"),
    Case("set-empty-key", (*T, "--set", "=5"), "--set '=5': expected KEY=VALUE"),
    Case("set-empty-part", (*T, "--set", "training..epochs=5"), "--set 'training..epochs=5': expected KEY=VALUE"),
    Case("set-bad-yaml", (*T, "--set", "model.units=[1,"), "--set 'model.units=[1,': value is not valid YAML"),
    Case("set-into-a-value", (*T, "--set", "training.epochs.x=1"), "training.epochs is a value, not a section"),
    Case("set-unknown-key", (*T, "--set", "model.unitz=3"), "--set 'model.unitz=3': unknown key 'model.unitz'; did you mean 'units'?"),
    Case("set-out-of-range", (*T, "--set", "training.epochs=-1"), "--set 'training.epochs=-1': training.epochs: input should be greater"),
    Case("set-on-run-folder", ("predict", "checkpoints/good", "--set", "model.units=5", "-p", "a"), "--set applies to config files, not run folders", setup="trained"),
    # predict
    Case("predict-before-training", (*P, "-p", "a"), "no trained model yet; run `rnnlab train"),
    Case("predict-changed-units", (*P, "--set", "model.units=5", "-p", "a"), "trained with model.units=3 but the config says 5", setup="trained"),
    Case("predict-changed-letters", (*P, "--set", "data.letters=abcdef", "-p", "a"), "trained with data.letters='abcde' but the config says 'abcdef'", setup="trained"),
    Case("prefix-outside-vocabulary", (*P, "-p", "z"), "'z' not in this run's letters 'abcde'; use only those letters", setup="trained"),
    Case("prefix-wrong-length", (*P, "-p", "ab"), "has 2 letter(s) but this run reads 1; give exactly 1", setup="trained"),
    Case("prefix-empty", (*P, "-p", ""), "has 0 letter(s) but this run reads 1", setup="trained"),
    Case("not-a-run-folder", ("predict", "{tmp}", "-p", "a"), "not a run folder (no config.yaml)"),
    Case("interrupted-first-run", (*P, "-p", "a"), "training was interrupted before the first model was saved", setup="interrupted"),
    Case("input-file-missing", (*P, "--input-file", "nope.txt"), "--input-file nope.txt: file not found", setup="trained"),
    Case("input-file-not-utf8", (*P, "--input-file", "latin1.txt"), "--input-file latin1.txt: not UTF-8 text (byte 0)", setup="latin1_input"),
    Case("input-file-is-folder", (*P, "--input-file", "checkpoints"), "--input-file checkpoints: cannot read it", setup="trained"),
    # damaged run folders
    Case("corrupt-model", (*P, "-p", "a"), "model.keras: cannot load the saved model", setup="corrupt_model"),
    Case("unsafe-model", (*P, "-p", "a"), "model.keras: refused: it holds Python code", setup="lambda_model"),
    Case("corrupt-run-config", ("predict", "checkpoints/good", "-p", "a"), "unreadable run config", setup="corrupt_run_config"),
    Case("corrupt-task", (*P, "-p", "a"), "task.json: unreadable: JSONDecodeError", setup="corrupt_task"),
    Case("missing-vocab", (*P, "-p", "a"), "vocab.json: missing; the run folder is damaged", setup="missing_vocab"),
    # training on an existing run
    Case("train-changed-units", (*T, "--set", "model.units=5"), "trained with model.units=3 but the config says 5; pass --fresh", setup="trained"),
    Case("train-corrupt-model", T, "cannot load the saved model (ValueError", setup="corrupt_model"),
    Case("train-corrupt-run-config", T, "config.yaml: unreadable run config", setup="corrupt_run_config"),
    Case("train-corrupt-backup", T, "the training backup cannot be read", setup="corrupt_backup"),
    Case("train-while-locked", T, "another `rnnlab train`", setup="locked"),
    # the command line itself
    Case("unknown-option", (*T, "--epochs", "3"), "No such option: --epochs"),
    Case("missing-argument", ("train",), "Missing argument 'config'"),
    Case("bad-option-value", (*P, "--length", "0"), "Invalid value for '--length'"),
    Case("unknown-command", ("trian", "{cfg}"), "No such command 'trian'. Did you mean 'train'?", subprocess=True),
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny trained run (GOOD, 1 epoch), copied into each case that needs one."""
    from rnnlab.config import validate
    from rnnlab.train import train

    folder = tmp_path_factory.mktemp("trained")
    config = validate(good(experiment={"output_root": str(folder), "name": "good"}), source="test")
    return train(config, verbose=0).run_dir


def copy_run(trained: Path, tmp: Path) -> Path:
    run = tmp / "checkpoints" / "good"
    shutil.copytree(trained, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["experiment"]["output_root"] = "checkpoints"
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return run


def lambda_model(run: Path) -> None:
    from rnnlab.runtime import keras

    k = keras()
    model = k.Sequential([k.Input((1, 5)), k.layers.Lambda(lambda x: x[:, 0, :]), k.layers.Dense(5, activation="softmax")])
    model.save(run / "model.keras")


SETUPS: dict[str, Callable[[Path, Path], None]] = {
    "": lambda tmp, trained: None,
    "trained": lambda tmp, trained: None,
    "output_root_is_file": lambda tmp, trained: (tmp / "occupied").write_text("a file, not a folder\n"),
    "interrupted": lambda tmp, trained: _interrupted(copy_run(trained, tmp)),
    "latin1_input": lambda tmp, trained: (tmp / "latin1.txt").write_bytes("é\n".encode("latin-1")),
    "corrupt_model": lambda tmp, trained: (tmp / "checkpoints/good/model.keras").write_bytes(b"PK\x03\x04 not really a zip"),
    "lambda_model": lambda tmp, trained: lambda_model(tmp / "checkpoints/good"),
    "corrupt_run_config": lambda tmp, trained: (tmp / "checkpoints/good/config.yaml").write_text("model: [units\n"),
    "corrupt_task": lambda tmp, trained: (tmp / "checkpoints/good/task.json").write_text('{"kind": '),
    "missing_vocab": lambda tmp, trained: (tmp / "checkpoints/good/vocab.json").unlink(),
    "corrupt_backup": lambda tmp, trained: _corrupt_backup(tmp / "checkpoints/good"),
    "locked": lambda tmp, trained: (tmp / "checkpoints/good/.lock").write_text(f"{os.getpid()}@{socket.gethostname()}"),
}
NEEDS_RUN = {"trained", "latin1_input", "corrupt_model", "lambda_model", "corrupt_run_config", "corrupt_task", "missing_vocab", "corrupt_backup", "locked"}


def _interrupted(run: Path) -> None:
    for name in ("model.keras", "metrics.json", "weights.txt", "curves.png", "summary.txt"):
        (run / name).unlink()
    (run / ".backup").mkdir()
    shutil.copy(run / "best.weights.h5", run / ".backup" / "epoch-1.weights.h5")
    (run / ".backup" / "state.json").write_text('{"epoch": 1, "weights": "epoch-1.weights.h5"}')


def _corrupt_backup(run: Path) -> None:
    _interrupted(run)
    (run / ".backup" / "epoch-1.weights.h5").write_bytes(b"\x89HDF\r\n garbage")


def prepare(case: Case, tmp: Path, trained: Path) -> list[str]:
    if case.setup in NEEDS_RUN:
        copy_run(trained, tmp)
    SETUPS[case.setup](tmp, trained)
    cfg = tmp / f"{case.name}.yaml"
    if isinstance(case.config, bytes):
        cfg.write_bytes(case.config)
    elif isinstance(case.config, str):
        cfg.write_text(case.config, encoding="utf-8")
    else:
        cfg.write_text(yaml.safe_dump(case.config or GOOD), encoding="utf-8")
    return [a.format(cfg=cfg.name, tmp=tmp) for a in case.args]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under the folder with a hash of its content (names and bytes, not times)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
        if "__pycache__" not in p.parts
    }


def assert_one_clean_line(stderr: str, code: int, case: Case) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, f"{case.id}: exit {code}, stderr {stderr!r}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{case.id}: {stderr!r}"
    assert "Traceback" not in stderr
    assert case.expected in lines[0], f"{case.id}: {lines[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case: Case, cli, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    trained = request.getfixturevalue("trained_run") if case.setup in NEEDS_RUN | {"interrupted"} else tmp_path
    argv = prepare(case, tmp_path, trained)
    before = snapshot(tmp_path)
    result = cli(*argv)
    assert_one_clean_line(result.stderr, result.exit_code, case)
    assert snapshot(tmp_path) == before, f"{case.id}: files changed"


SUBPROCESS_CASES = [c for c in CASES if c.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_bad_input_through_a_real_process(case: Case, tmp_path: Path) -> None:
    argv = prepare(case, tmp_path, tmp_path)
    before = snapshot(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "rnnlab", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert_one_clean_line(done.stderr, done.returncode, case)
    assert done.stdout == ""
    assert snapshot(tmp_path) == before


def troubleshooting_rows() -> dict[str, str]:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `` (.+?) `` \| (.+?) \|$", section, flags=re.M)
    return {message.replace("\\|", "|"): fix for message, fix in rows}


def test_readme_troubleshooting_lists_every_case() -> None:
    rows = troubleshooting_rows()
    expected = {c.expected for c in CASES}
    assert not expected - rows.keys(), f"README Troubleshooting lacks: {sorted(expected - rows.keys())}"
    assert not rows.keys() - expected, f"README Troubleshooting lists messages no test checks: {sorted(rows.keys() - expected)}"
    assert all(fix.strip() for fix in rows.values())


def test_catalogue_is_large_and_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
