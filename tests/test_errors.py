"""The catalogue of bad input: every row runs the real CLI and must end in ONE ``error:`` line on
stderr, exit code 2, no traceback, and the output root exactly as it was (or still absent).

Each row's ``expected`` text is listed in the README's "Troubleshooting" table with its fix
(``test_readme_troubleshooting_lists_every_case`` keeps the two in sync). Dataset modules add their
rows (missing or corrupt data files, empty corpora, ...) to ``CASES``.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import PROJECT

GOOD: dict[str, Any] = {"data": {"dataset": "alphabet"}, "model": {"units": 3}, "training": {"epochs": 1}}


CORPUS = "abcdefgh ijklmnop " * 3
GOODS: dict[str, dict[str, Any]] = {
    "alphabet": GOOD,
    "lyrics": {
        "data": {"dataset": "lyrics", "path": "corpus.txt", "num_steps": 4},
        "model": {"units": 3},
        "training": {"epochs": 1, "batch_size": 2},
    },
    "regression": {"data": {"dataset": "regression"}, "model": {"units": 3}, "training": {"epochs": 1}},
    "hello": {"data": {"dataset": "hello"}, "model": {"units": 3}, "training": {"epochs": 1}},
    "series": {
        "data": {"dataset": "series", "path": "s.csv", "time_column": "t", "target_column": "y", "lookback": 4},
        "model": {"units": 3},
        "training": {"epochs": 1},
    },
    "imdb": {
        "data": {"dataset": "imdb", "path": "imdb.npz", "num_words": 20, "maxlen": 8},
        "model": {"encoding": "embedding", "embedding_dim": 4, "units": 3},
        "training": {"epochs": 1, "batch_size": 4},
    },
    "longdep": {"data": {"dataset": "longdep", "length": 5, "samples": 40}, "model": {"units": 3}, "training": {"epochs": 1}},
    "text": {
        "data": {"dataset": "text", "path": "texts.csv", "num_words": 20, "maxlen": 8, "test_fraction": 0.25},
        "model": {"encoding": "embedding", "embedding_dim": 4, "units": 3},
        "training": {"epochs": 1, "batch_size": 4},
    },
}
"""A tiny valid config per dataset; rows change one thing in it."""


def npz_of(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def objects(*items: Any) -> np.ndarray:
    """A 1-D object array, as Keras's imdb.npz stores its reviews (lists of word ranks)."""
    array = np.empty(len(items), dtype=object)
    array[:] = list(items)
    return array


IMDB_WORDS = {"great": 1, "awful": 2, "film": 3, "plot": 4, "loved": 5, "boring": 6}
IMDB_X = objects([1, 3], [2, 4], [5, 3, 1], [6, 4], [1, 5], [2, 6], [3, 1, 5], [4, 2])
IMDB_Y = np.array([1, 0, 1, 0, 1, 0, 1, 0])
IMDB_NPZ = npz_of(x_train=IMDB_X, y_train=IMDB_Y, x_test=IMDB_X, y_test=IMDB_Y)
SERIES_CSV = "t,y\n" + "".join(f"{k},{10 + k % 5}\n" for k in range(40))
DATA_FILES: dict[str, dict[str, str | bytes]] = {
    "lyrics": {"corpus.txt": CORPUS},
    "series": {"s.csv": SERIES_CSV},
    "imdb": {"imdb.npz": IMDB_NPZ, "imdb_word_index.json": json.dumps(IMDB_WORDS)},
    "text": {
        "texts.csv": "text,label\n"
        + "".join(f'"{w} film, {i}",{l}\n' for i, (w, l) in enumerate([("great", "pos"), ("awful", "neg")] * 4))
    },
}
"""Files a dataset's GOOD config reads, written next to the config (``data.path`` names the main one)."""


def good(dataset: str = "alphabet", **sections: dict[str, Any]) -> dict[str, Any]:
    """GOODS[dataset] with some sections' keys replaced."""
    raw = json.loads(json.dumps(GOODS[dataset]))
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
    files: dict[str, str | bytes] = field(default_factory=dict)  # written under {tmp} first
    patch: dict[str, str] = field(default_factory=dict)  # "module.attribute": value ({tmp} allowed), monkeypatched

    @property
    def dataset(self) -> str:
        data = self.config.get("data") if isinstance(self.config, dict) else None
        return data.get("dataset", "alphabet") if isinstance(data, dict) else "alphabet"


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def lyrics(path: str, content: str | bytes | None = None, **data: Any) -> dict[str, Any]:
    """Case keywords for a lyrics row reading ``path`` (written with ``content`` unless None)."""
    return {"config": good("lyrics", data={"path": path, **data}), "files": {} if content is None else {path: content}}


def regression(path: str, content: str | bytes | None = None) -> dict[str, Any]:
    """Case keywords for a regression row reading ``path`` (written with ``content`` unless None)."""
    return {"config": good("regression", data={"path": path}), "files": {} if content is None else {path: content}}


def series(content: str | None = None, **data: Any) -> dict[str, Any]:
    """Case keywords for a series row: GOODS' config with ``data`` changed, reading ``content`` (None: the good CSV)."""
    return {"config": good("series", data=data), "files": {"s.csv": SERIES_CSV if content is None else content}}


def series_rows(*rows: str) -> str:
    """A small series CSV whose rows from line 2 on are the good ones with some replaced: ``"line:t,y"``."""
    lines = SERIES_CSV.splitlines()
    for row in rows:
        number, _, text = row.partition(":")
        lines[int(number) - 1] = text
    return "\n".join(lines) + "\n"


def imdb(path: str | None = "imdb.npz", files: dict[str, str | bytes] | None = None, **data: Any) -> dict[str, Any]:
    """Case keywords for an imdb row reading ``path``; ``files`` replace the good npz and word index."""
    return {"config": good("imdb", data={"path": path, **data}), "files": DATA_FILES["imdb"] if files is None else files}


def texts(name: str = "texts.csv", content: str | bytes | None = None, **data: Any) -> dict[str, Any]:
    """Case keywords for a ``dataset: text`` row reading ``name`` (written with ``content``; None: the good CSV)."""
    body = DATA_FILES["text"]["texts.csv"] if content is None else content
    return {"config": good("text", data={"path": name, **data}), "files": {name: body}}


GOOD_CSV = str(DATA_FILES["text"]["texts.csv"])
TX = dict(config=GOODS["text"], files=DATA_FILES["text"])


ACL = {f"aclImdb/{split}/{label}/{i}_{stars}.txt": f"{word} film {i}" for split in ("train", "test")
       for label, stars, word in (("pos", 7, "great"), ("neg", 2, "awful")) for i in range(2)}  # fmt: skip
"""A tiny aclImdb tree: two reviews per class and split."""


def acl(path: str = "aclImdb", **changes: str | bytes | None) -> dict[str, Any]:
    """Case keywords for an imdb ``source: directory`` row: ACL with files changed (None: removed)."""
    files = {k: v for k, v in ({**ACL, **changes}).items() if v is not None}
    return {"config": good("imdb", data={"source": "directory", "path": path}), "files": files}


CSV_HEAD = "sequence,target\n"
OFFLINE = {
    "rnnlab.data.lyrics.URL": "file:///nonexistent/jaychou_lyrics.txt.zip",
    "keras.src.backend.config._KERAS_DIR": "{tmp}/keras-home",
}
"""No network: the lesson's corpus URL unreachable, and an empty Keras cache instead of the user's."""
LY, RG, HE, IM, SE = (
    dict(config=GOODS[d], files=DATA_FILES.get(d, {})) for d in ("lyrics", "regression", "hello", "imdb", "series")
)
IMDB_OFFLINE = {
    "rnnlab.data.imdb.KERAS_ORIGIN": "file:///nonexistent/",
    "keras.src.backend.config._KERAS_DIR": "{tmp}/keras-home",
}
"""No network for Keras's imdb.npz, and an empty Keras cache instead of the user's."""


SE_H = {"config": GOODS["series"], "files": {**DATA_FILES["series"], "h.csv": "a,b\n1,2\n"}}
"""A trained series run asked about a history CSV without the run's target column."""

T, P = ("train", "{cfg}"), ("predict", "{cfg}")

CASES: list[Case] = [
    # the config file itself
    Case(
        "yaml-syntax",
        T,
        "YAML syntax error at line 2, column 6: expected ',' or '}', but got ':'",
        "data: {dataset: alphabet\nmodel: [units\n",
        subprocess=True,
    ),
    Case("yaml-tab", T, "found character '\\t' that cannot start any token", "data:\n\tdataset: alphabet\n"),
    Case("empty-file", T, "file is empty", ""),
    Case("only-comments", ("config", "{cfg}"), "file is empty", "# nothing here yet\n"),
    Case("not-a-mapping", T, "expected a mapping of sections (experiment, data, model, training), got list", "- a\n- b\n"),
    Case(
        "python-tag",
        T,
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'; configs are plain YAML data, remove the tag",
        "data: !!python/object/apply:os.system ['echo hi']\n",
    ),
    Case("missing-config", ("train", "missing.yaml"), "config file not found", subprocess=True),
    Case("config-is-folder", ("train", "{tmp}"), "is a folder, not a config file"),
    Case("config-not-utf8", T, "not UTF-8 text (byte 16); save the file as UTF-8", b"data: {dataset: \xff\xfe}\n"),
    Case("bad-file-stem", T, "is not a valid run name; set experiment.name", name="my run"),
    # YAML read as written (1.2 scalars, no duplicate keys) and bounded
    Case(
        "duplicate-key",
        T,
        "duplicate key 'model' (first at line 2)",
        "data: {dataset: alphabet}\nmodel: {units: 3}\nmodel: {units: 4}\n",
    ),
    Case(
        "yes-is-not-true",
        T,
        "training.tensorboard: input should be a valid boolean (got 'yes')",
        good(training={"tensorboard": "yes"}),
    ),
    Case(
        "true-is-not-an-epoch-count",
        T,
        "training.epochs: input should be a valid integer (got True)",
        good(training={"epochs": True}),
    ),
    Case(
        "base-60-is-text",
        T,
        "experiment.seed: input should be a valid integer (got '1:30')",
        "data: {dataset: alphabet}\nexperiment: {seed: 1:30}\n",
    ),
    Case("quoted-number", T, "model.units: input should be a valid integer (got '8')", good(model={"units": "8"})),
    Case(
        "infinite-learning-rate",
        T,
        "training.learning_rate: input should be a finite number (got inf)",
        "data: {dataset: alphabet}\ntraining: {learning_rate: .inf}\n",
    ),
    Case(
        "overflowing-learning-rate",
        T,
        "training.learning_rate: input should be a finite number (got inf)",
        "data: {dataset: alphabet}\ntraining: {learning_rate: 1e309}\n",
    ),
    Case(
        "nested-too-deep",
        T,
        "nested deeper than 32 levels; a config is a few plain sections",
        "data: {dataset: alphabet}\nx: " + "[" * 40 + "]" * 40 + "\n",
    ),
    Case(
        "alias-bomb",
        T,
        "its aliases expand to more than 100,000 values",
        "data: {dataset: alphabet}\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f]\n",
    ),
    Case(
        "huge-config",
        T,
        "the config file is 1,048,605 bytes, over rnnlab's limit of 1,048,576; give a smaller file",
        "data: {dataset: alphabet}\n# " + "x" * (1 << 20) + "\n",
    ),
    Case(
        "set-replaces-a-section",
        (*T, "--set", "training={{}}"),
        "would replace the whole training section the config sets (epochs)",
    ),
    Case(
        "huge-units",
        ("summary", "{cfg}"),
        "over rnnlab's limit of 50,000,000; lower model.units (now 1,000,000,000)",
        good(model={"units": 1_000_000_000}),
    ),
    Case(
        "pooling-per-step",
        T,
        "model.pooling: max pools a whole sequence into one vector, but a language model predicts at every step",
        {**GOODS["lyrics"], "model": {"units": 3, "pooling": "max"}},
        files={"corpus.txt": CORPUS},
    ),
    Case(
        "huge-depth",
        T,
        "over rnnlab's limit of 50,000,000; lower model.units (now 16) or model.num_layers (now 100,000)",
        good(model={"units": 16, "num_layers": 100_000}),
    ),
    Case(
        "long-run-name",
        T,
        "experiment.name: run name is 300 characters long; use at most 100",
        good(experiment={"name": "a" * 300}),
    ),
    # unknown keys, at every level
    Case("unknown-section", T, "unknown key 'modle'; did you mean 'model'?", {**GOOD, "modle": {"units": 3}}, subprocess=True),
    Case("unknown-experiment-key", T, "unknown key 'experiment.sed'; did you mean 'seed'?", good(experiment={"sed": 1})),
    Case("unknown-data-key", T, "unknown key 'data.windw'; did you mean 'window'?", good(data={"windw": 2})),
    Case("unknown-model-key", T, "unknown key 'model.unitz'; did you mean 'units'?", good(model={"unitz": 3})),
    Case("unknown-training-key", T, "unknown key 'training.epoch'; did you mean 'epochs'?", good(training={"epoch": 3})),
    Case(
        "unknown-early-stopping-key",
        T,
        "unknown key 'training.early_stopping.patiense'; did you mean 'patience'?",
        good(training={"early_stopping": {"patiense": 3}}),
    ),
    Case(
        "unknown-checkpoint-key",
        T,
        "unknown key 'training.checkpoint.monitr'; did you mean 'monitor'?",
        good(training={"checkpoint": {"monitr": "loss"}}),
    ),
    # missing and wrong types
    Case("missing-data", T, "missing section 'data'", {"model": {"units": 3}}),
    Case("missing-dataset", T, "data.dataset is required; one of alphabet", {"data": {"window": 1}}),
    Case("wrong-type-int", T, "model.units: input should be a valid integer", good(model={"units": "many"})),
    Case(
        "wrong-type-float", T, "training.learning_rate: input should be a valid number", good(training={"learning_rate": "fast"})
    ),
    Case("section-not-mapping", T, "model must be a section (a mapping of keys)", {**GOOD, "model": [1, 2]}),
    Case(
        "early-stopping-not-mapping", T, "training.early_stopping must be a section", good(training={"early_stopping": "maybe"})
    ),
    # unknown names
    Case("unknown-dataset", T, "unknown dataset 'alphabt'; did you mean 'alphabet'?", {"data": {"dataset": "alphabt"}}),
    Case(
        "unknown-encoding",
        T,
        "model.encoding: 'one-hot' is not allowed; did you mean 'onehot'?",
        good(model={"encoding": "one-hot"}),
    ),
    Case("unknown-layer", T, "model.layer: 'lstmm' is not allowed; did you mean 'lstm'?", good(model={"layer": "lstmm"})),
    Case(
        "unknown-optimizer", T, "training.optimizer: 'adamm' is not allowed; did you mean", good(training={"optimizer": "adamm"})
    ),
    Case(
        "unknown-activation",
        T,
        "model.activation: 'swish' is not allowed; valid: tanh, relu, sigmoid, linear",
        good(model={"activation": "swish"}),
    ),
    # out-of-range values
    Case("units-0", T, "model.units: input should be greater than or equal to 1 (got 0)", good(model={"units": 0})),
    Case(
        "log-gradients-distributed",
        T,
        "log_gradients counts one device's steps and cannot follow distribute 'mirrored' yet",
        good(training={"log_gradients": True, "distribute": "mirrored"}),
    ),
    Case(
        "log-gradients-changed-on-continue",
        (*T, "--set", "training.log_gradients=true"),
        "this run was trained with training.log_gradients=false but the config says true",
        setup="trained",
    ),
    Case(
        "ema-changed-on-continue",
        (*T, "--set", "training.ema_momentum=0.99"),
        "this run was trained with training.ema_momentum=null but the config says 0.99",
        setup="trained",
    ),
    Case(
        "longdep-prefix-length",
        (*P, "-p", "ab"),
        "input 'ab' has 2 character(s) but this run reads 6",
        GOODS["longdep"],
        setup="trained",
    ),
    Case(
        "smoothing-refused-by-fresh-run",
        (*T, "--fresh", "--set", "training.label_smoothing=0.1"),
        "training.label_smoothing smooths a softmax head towards the class frequencies; a regression model has none",
        GOODS["regression"],
        setup="trained",
    ),
    Case(
        "momentum-with-adam",
        T,
        "momentum is only for optimizer sgd or rmsprop (here 'adam'); remove training.momentum",
        good(training={"optimizer": "adam", "momentum": 0.9}),
    ),
    Case(
        "momentum-one", T, "training.momentum: input should be less than 1", good(training={"optimizer": "sgd", "momentum": 1.0})
    ),
    Case(
        "negative-learning-rate",
        T,
        "training.learning_rate: input should be greater than 0 (got -0.1)",
        good(training={"learning_rate": -0.1}),
    ),
    Case("window-larger-than-data", T, "window 9 is longer than the 5 letters 'abcde'", good(data={"window": 9})),
    Case("window-0", T, "data.window: input should be greater than or equal to 1 (got 0)", good(data={"window": 0})),
    Case("dropout-1", T, "model.dropout: input should be less than 1 (got 1)", good(model={"dropout": 1})),
    Case(
        "batch-size-0",
        T,
        "training.batch_size: input should be greater than or equal to 1 (got 0)",
        good(training={"batch_size": 0}),
    ),
    Case("epochs-0", T, "training.epochs: input should be greater than or equal to 1 (got 0)", good(training={"epochs": 0})),
    Case(
        "validation-split-1",
        T,
        "training.validation_split: input should be less than 1 (got 1)",
        good(training={"validation_split": 1}),
    ),
    Case("clipnorm-negative", T, "training.clipnorm: input should be greater than 0 (got -1)", good(training={"clipnorm": -1})),
    Case(
        "seed-negative", T, "experiment.seed: input should be greater than or equal to 0 (got -1)", good(experiment={"seed": -1})
    ),
    Case(
        "seed-too-large", T, "experiment.seed: input should be less than or equal to 4294967295", good(experiment={"seed": 2**40})
    ),
    Case("letters-repeated", T, "letters must be distinct; repeated: 'a'", good(data={"letters": "abca"})),
    Case("letters-too-few", T, "needs at least 2 letters", good(data={"letters": "a"})),
    Case(
        "no-training-samples",
        T,
        "training.validation_split 0.95 leaves no training samples out of 5",
        good(training={"validation_split": 0.95}),
    ),
    # where runs go
    Case("run-name-escapes", T, "run name '../x' must be a plain folder name", good(experiment={"name": "../x"})),
    Case("run-name-absolute", T, "run name '/tmp/x' must be a plain folder name", good(experiment={"name": "/tmp/x"})),
    Case(
        "unwritable-output-root",
        T,
        "cannot write the run folder",
        good(experiment={"output_root": "occupied/sub"}),
        setup="output_root_is_file",
    ),
    # --set
    Case("set-no-equals", (*T, "--set", "oops"), "--set 'oops': expected KEY=VALUE with a dotted key"),
    Case("set-empty-key", (*T, "--set", "=5"), "--set '=5': expected KEY=VALUE"),
    Case("set-empty-part", (*T, "--set", "training..epochs=5"), "--set 'training..epochs=5': expected KEY=VALUE"),
    Case("set-bad-yaml", (*T, "--set", "model.units=[1,"), "--set 'model.units=[1,': value is not valid YAML"),
    Case("set-into-a-value", (*T, "--set", "training.epochs.x=1"), "training.epochs is a value, not a section"),
    Case(
        "set-unknown-key",
        (*T, "--set", "model.unitz=3"),
        "--set 'model.unitz=3': unknown key 'model.unitz'; did you mean 'units'?",
    ),
    Case(
        "set-out-of-range",
        (*T, "--set", "training.epochs=-1"),
        "--set 'training.epochs=-1': training.epochs: input should be greater",
    ),
    Case(
        "set-on-run-folder",
        ("predict", "checkpoints/good", "--set", "model.units=5", "-p", "a"),
        "--set applies to config files, not run folders",
        setup="trained",
    ),
    # predict
    Case("predict-before-training", (*P, "-p", "a"), "no trained model yet; run `rnnlab train"),
    Case(
        "predict-changed-units",
        (*P, "--set", "model.units=5", "-p", "a"),
        "trained with model.units=3 but the config says 5",
        setup="trained",
    ),
    Case(
        "predict-changed-letters",
        (*P, "--set", "data.letters=abcdef", "-p", "a"),
        "trained with data.letters='abcde' but the config says 'abcdef'",
        setup="trained",
    ),
    Case(
        "prefix-outside-vocabulary",
        (*P, "-p", "z"),
        "'z' not in this run's letters 'abcde'; use only those letters",
        setup="trained",
    ),
    Case("prefix-wrong-length", (*P, "-p", "ab"), "has 2 letter(s) but this run reads 1; give exactly 1", setup="trained"),
    Case("prefix-empty", (*P, "-p", ""), "has 0 letter(s) but this run reads 1", setup="trained"),
    Case("not-a-run-folder", ("predict", "{tmp}", "-p", "a"), "not a run folder (no config.yaml)"),
    Case(
        "interrupted-first-run", (*P, "-p", "a"), "training was interrupted before the first model was saved", setup="interrupted"
    ),
    Case("input-file-missing", (*P, "--input-file", "nope.txt"), "--input-file nope.txt: file not found", setup="trained"),
    Case(
        "input-file-not-utf8",
        (*P, "--input-file", "latin1.txt"),
        "--input-file latin1.txt: not UTF-8 text (byte 0)",
        setup="latin1_input",
    ),
    Case(
        "input-file-is-folder",
        (*P, "--input-file", "checkpoints"),
        "--input-file checkpoints: is a folder; give the input file itself",
        setup="trained",
    ),
    # damaged run folders
    Case("corrupt-model", (*P, "-p", "a"), "model.keras: cannot load the saved model", setup="corrupt_model"),
    Case("unsafe-model", (*P, "-p", "a"), "model.keras: refused: it holds Python code", setup="lambda_model"),
    Case("corrupt-run-config", ("predict", "checkpoints/good", "-p", "a"), "unreadable run config", setup="corrupt_run_config"),
    Case("corrupt-task", (*P, "-p", "a"), "task.json: unreadable: JSONDecodeError", setup="corrupt_task"),
    Case("missing-vocab", (*P, "-p", "a"), "vocab.json: missing; the run folder is damaged", setup="missing_vocab"),
    # training on an existing run
    Case(
        "train-changed-units",
        (*T, "--set", "model.units=5"),
        "trained with model.units=3 but the config says 5; pass --fresh",
        setup="trained",
    ),
    Case("train-corrupt-model", T, "cannot load the saved model (ValueError", setup="corrupt_model"),
    Case("train-corrupt-run-config", T, "config.yaml: unreadable run config", setup="corrupt_run_config"),
    Case("train-corrupt-backup", T, "the training backup cannot be read", setup="corrupt_backup"),
    Case("train-while-locked", T, "another `rnnlab train`", setup="locked"),
    # the command line itself
    Case("unknown-option", (*T, "--epochs", "3"), "No such option: --epochs"),
    Case("missing-argument", ("train",), "Missing argument 'config'"),
    Case("bad-option-value", (*P, "--length", "0"), "Invalid value for '--length'"),
    Case("unknown-command", ("trian", "{cfg}"), "No such command 'trian'. Did you mean 'train'?", subprocess=True),
    Case(
        "seed-negative-option",
        (*P, "-p", "a", "--temperature", "1", "--seed", "-1"),
        "Invalid value for '--seed'",
        setup="trained",
    ),
    Case("temperature-negative", (*P, "-p", "a", "--temperature", "-1"), "Invalid value for '--temperature'"),
    Case("top-k-negative", (*P, "-p", "a", "--top-k", "-1"), "Invalid value for '--top-k'"),
    Case("length-not-a-number", (*P, "-p", "a", "--length", "abc"), "Invalid value for '--length'"),
    Case(
        "length-too-long",
        (*P, "-p", "a", "--length", "1000000"),
        "Invalid value for '--length': Input should be less than or equal to 100000",
    ),
    # lyrics: the corpus file
    Case("lyrics-missing-file", T, "data.path nope.txt: no such file", **lyrics("nope.txt")),
    Case(
        "lyrics-path-is-folder",
        T,
        "data.path corpus: is a folder; give the .zip or .txt file itself",
        **lyrics("corpus/a.txt", "ab") | {"config": good("lyrics", data={"path": "corpus"})},
    ),
    Case("lyrics-corrupt-zip", T, "not a valid zip archive", **lyrics("corpus.zip", b"PK\x03\x04 truncated")),
    Case(
        "lyrics-zip-several-files",
        T,
        "the zip must hold exactly one text file, found 2 (a.txt, b.txt)",
        **lyrics("corpus.zip", zip_of({"a.txt": "ab", "b.txt": "cd"})),
    ),
    Case(
        "lyrics-zip-no-files",
        T,
        "the zip must hold exactly one text file, found 0 (no files)",
        **lyrics("corpus.zip", zip_of({"empty/": ""})),
    ),
    Case(
        "lyrics-not-utf8",
        T,
        "corpus.txt: not UTF-8 text (bad byte at offset 3)",
        **lyrics("corpus.txt", "café".encode("latin-1")),
    ),
    Case(
        "lyrics-zip-not-utf8",
        T,
        "corpus.zip: not UTF-8 text (bad byte at offset 3)",
        **lyrics("corpus.zip", zip_of({"a.txt": "café".encode("latin-1")})),
    ),
    Case("lyrics-empty-corpus", T, "the corpus is empty", **lyrics("corpus.txt", "")),
    Case("lyrics-blank-corpus", T, "the corpus is empty", **lyrics("corpus.txt", " \n\n ")),
    Case(
        "lyrics-shorter-than-window",
        T,
        "the training text has 3 characters, fewer than one window of data.num_steps=4",
        **lyrics("corpus.txt", "abc"),
    ),
    Case(
        "lyrics-num-steps-larger-than-data",
        T,
        "the training text has 54 characters, fewer than one window of data.num_steps=500",
        **lyrics("corpus.txt", CORPUS, num_steps=500),
    ),
    Case(
        "lyrics-validation-tail-too-short",
        T,
        "the validation tail has 3 characters, fewer than one window",
        **lyrics("corpus.txt", CORPUS, validation_fraction=0.05),
    ),
    Case(
        "lyrics-fewer-windows-than-batch",
        (*T, "--set", "training.batch_size=64"),
        "consecutive sampling needs at least training.batch_size=64",
        **LY,
    ),
    Case(
        "lyrics-validation-split",
        (*T, "--set", "training.validation_split=0.2"),
        "for lyrics hold out the corpus tail with data.validation_fraction",
        **LY,
    ),
    Case(
        "lyrics-max-chars-1",
        (*T, "--set", "data.max_chars=1"),
        "data.max_chars: input should be greater than or equal to 2 (got 1)",
        **LY,
    ),
    Case(
        "lyrics-unknown-sampling",
        (*T, "--set", "data.sampling=randm"),
        "data.sampling: 'randm' is not allowed; did you mean 'random'?",
        **LY,
    ),
    Case(
        "lyrics-download-offline",
        T,
        "and fetching file:///nonexistent/jaychou_lyrics.txt.zip failed",
        good("lyrics", data={"path": None}),
        setup="keras_home",
        patch=OFFLINE,
    ),
    # lyrics: predict
    Case("lyrics-prefix-empty", (*P, "-p", ""), "empty prefix; give at least one character", setup="trained", **LY),
    Case(
        "lyrics-predict-changed-num-steps",
        (*P, "-p", "ab", "--set", "data.num_steps=5"),
        "trained with data.num_steps=4 but the config says 5",
        setup="trained",
        **LY,
    ),
    Case(
        "lyrics-predict-changed-units",
        (*P, "-p", "ab", "--set", "model.units=5"),
        "trained with model.units=3 but the config says 5",
        setup="trained",
        **LY,
    ),
    # regression: CSV and NPZ files
    Case("regression-missing-file", T, "data.path nope.csv: file not found", **regression("nope.csv")),
    Case(
        "regression-path-is-folder",
        T,
        "data.path seq: is a folder; give the .csv or .npz file itself",
        **regression("seq/x.csv", CSV_HEAD) | {"config": good("regression", data={"path": "seq"})},
    ),
    Case(
        "regression-unknown-file-type", T, "unknown file type '.txt'; use .csv or .npz", **regression("seq.txt", "1 2;2 3,10\n")
    ),
    Case(
        "regression-csv-no-header",
        T,
        "the first row must be the header 'sequence,target'",
        **regression("seq.csv", "1 2;2 3,10\n"),
    ),
    Case("regression-csv-no-samples", T, "seq.csv: no samples", **regression("seq.csv", CSV_HEAD)),
    Case(
        "regression-csv-unquoted-commas",
        T,
        "seq.csv, line 2: expected 2 columns (sequence,target), got 4",
        **regression("seq.csv", CSV_HEAD + "1,2;2,3,10\n"),
    ),
    Case(
        "regression-csv-non-numeric",
        T,
        "seq.csv, line 2: 'a b;c d' is not a sequence of numbers",
        **regression("seq.csv", CSV_HEAD + "a b;c d,10\n"),
    ),
    Case(
        "regression-csv-target-not-a-number",
        T,
        "target 'ten' is not a number",
        **regression("seq.csv", CSV_HEAD + "1 2;2 3,ten\n"),
    ),
    Case(
        "regression-csv-target-inf", T, "target 'inf' is not a finite number", **regression("seq.csv", CSV_HEAD + "1 2;2 3,inf\n")
    ),
    Case(
        "regression-csv-ragged-steps",
        T,
        "'1 2;3' has steps of different lengths",
        **regression("seq.csv", CSV_HEAD + "1 2;3,10\n"),
    ),
    Case(
        "regression-csv-ragged-samples",
        T,
        "sequences differ in (steps, features): [(2, 2), (3, 2)]",
        **regression("seq.csv", CSV_HEAD + "1 2;2 3,10\n1 2;2 3;3 4,20\n"),
    ),
    Case("regression-csv-nan", T, "'1 nan;2 3' contains inf or nan", **regression("seq.csv", CSV_HEAD + "1 nan;2 3,10\n")),
    Case("regression-csv-empty-sequence", T, "'' must be steps of equal length", **regression("seq.csv", CSV_HEAD + ",10\n")),
    Case(
        "regression-csv-not-utf8",
        T,
        "seq.csv: not UTF-8 text (byte 27); save the CSV as UTF-8",
        **regression("seq.csv", (CSV_HEAD + "1 2;2 3,10\n").encode() + "é".encode("latin-1")),
    ),
    Case("regression-npz-corrupt", T, "seq.npz: not a readable .npz file", **regression("seq.npz", b"PK\x03\x04 truncated")),
    Case(
        "regression-npz-not-a-zip",
        T,
        "seq.npz: not a readable .npz file (not a zip archive)",
        **regression("seq.npz", b"x,y\n1,2\n"),
    ),
    Case(
        "regression-npz-pickled-objects",
        T,
        "seq.npz: holds pickled Python objects, which rnnlab does not load",
        **regression("seq.npz", npz_of(x=np.array([[1, 2], [3]], dtype=object), y=np.array([1, 2]))),
    ),
    Case(
        "regression-npz-missing-y", T, "seq.npz: missing array(s) ['y']", **regression("seq.npz", npz_of(x=np.zeros((2, 3, 2))))
    ),
    Case(
        "regression-npz-x-not-3d",
        T,
        "x must be (samples, steps, features) and y (samples,) with as many samples, at least one; got (2, 3) and (2,)",
        **regression("seq.npz", npz_of(x=np.zeros((2, 3)), y=np.zeros(2))),
    ),
    Case(
        "regression-npz-sample-counts-differ",
        T,
        "got (2, 3, 2) and (3,)",
        **regression("seq.npz", npz_of(x=np.zeros((2, 3, 2)), y=np.zeros(3))),
    ),
    Case(
        "regression-npz-no-samples",
        T,
        "got (0, 3, 2) and (0,)",
        **regression("seq.npz", npz_of(x=np.zeros((0, 3, 2)), y=np.zeros(0))),
    ),
    Case(
        "regression-npz-strings",
        T,
        "array x holds <U1 values, not real numbers",
        **regression("seq.npz", npz_of(x=np.array([[["a", "b"]]]), y=np.array([1.0]))),
    ),
    Case(
        "regression-npz-complex",
        T,
        "array x holds complex128 values, not real numbers",
        **regression("seq.npz", npz_of(x=np.zeros((2, 3, 2), dtype=complex), y=np.zeros(2))),
    ),
    Case(
        "regression-npz-nan",
        T,
        "x or y contains inf or nan",
        **regression("seq.npz", npz_of(x=np.full((2, 3, 2), np.nan), y=np.zeros(2))),
    ),
    # regression: predict
    Case(
        "regression-prefix-ragged", (*P, "-p", "1,2;3"), "prefix: '1,2;3' has steps of different lengths", setup="trained", **RG
    ),
    Case("regression-prefix-not-numbers", (*P, "-p", "a,b"), "prefix: 'a,b' is not a sequence of numbers", setup="trained", **RG),
    Case(
        "regression-prefix-bad-json",
        (*P, "-p", "[[1,2],[3"),
        "prefix: '[[1,2],[3' is not a sequence of numbers",
        setup="trained",
        **RG,
    ),
    Case(
        "regression-prefix-wrong-shape",
        (*P, "-p", "1,2;2,3"),
        "has 2 step(s) of 2 number(s) but this run reads 3 of 2",
        setup="trained",
        **RG,
    ),
    Case(
        "regression-prefix-nan", (*P, "-p", "1,nan;2,3;3,4"), "prefix: '1,nan;2,3;3,4' contains inf or nan", setup="trained", **RG
    ),
    Case("regression-prefix-empty", (*P, "-p", ""), "prefix: '' must be steps of equal length", setup="trained", **RG),
    Case(
        "regression-predict-changed-path",
        (*P, "-p", "1,2;2,3;3,4", "--set", "data.path=x.csv"),
        "trained with data.path=None but the config says 'x.csv'",
        setup="trained",
        **RG,
    ),
    # series: the CSV and the options
    Case("series-no-path", T, "data.path: dataset series reads a CSV file; set data.path", **series(path=None)),
    Case("series-missing-file", T, "data.path nope.csv: file not found; give a .csv file", **series(path="nope.csv")),
    Case(
        "series-missing-column",
        T,
        "data.target_column 'yy': no such column in s.csv (columns: t, y)",
        **series(target_column="yy"),
    ),
    Case("series-non-numeric", T, "s.csv, line 5: y 'abc' is not a number", **series(series_rows("5:3,abc"))),
    Case(
        "series-unsorted-times",
        T,
        "s.csv, line 5: time '2' comes before '3' (line 4); sort the rows by t",
        **series(series_rows("4:3,1", "5:2,1")),
    ),
    Case(
        "series-duplicate-times",
        T,
        "s.csv, line 5: time '2' repeats line 4; keep one row per time step",
        **series(series_rows("5:2,1")),
    ),
    Case(
        "series-bad-time", T, "time 'soon' in column 't' is neither a number nor an ISO date", **series(series_rows("5:soon,1"))
    ),
    Case(
        "series-missing-value",
        T,
        "s.csv, line 6: no y value; fill it in, or set data.missing: ffill or interpolate",
        **series(series_rows("6:4,", "9:7,NA")),
    ),
    Case("series-lookback-zero", T, "data.lookback: input should be greater than or equal to 1 (got 0)", **series(lookback=0)),
    Case(
        "series-too-short-for-training",
        T,
        "the training part has 32 usable row(s) but lookback 35 + horizon 1 needs 36",
        **series(lookback=35),
    ),
    Case("series-test-shorter-than-horizon", T, "the test part has 8 row(s), fewer than horizon 10", **series(horizon=10)),
    Case(
        "series-log-not-positive",
        T,
        "s.csv, line 8: y is 0; transform log needs values > 0",
        **series(series_rows("8:6,0"), transform="log"),
    ),
    Case(
        "series-constant-standard",
        T,
        "'y' is constant (7) over the training part; scale: standard divides by its standard deviation 0",
        **series("t,y\n" + "".join(f"{k},7\n" for k in range(40))),
    ),
    Case(
        "series-seasonal-without-season", T, "data.transform seasonal_diff needs data.season", **series(transform="seasonal_diff")
    ),
    # series: predict's history
    Case("series-history-too-short", (*P, "-p", "1 2"), "input: 2 value(s) but this run reads the last 4", setup="trained", **SE),
    Case("series-history-not-numbers", (*P, "-p", "1 2 x 4"), "input: 'x' is not a number", setup="trained", **SE),
    Case("series-history-no-target", (*P, "--input-file", "h.csv"), "the header row 'a,b' lacks y", setup="trained", **SE_H),
    # hello
    Case(
        "hello-length-mismatch",
        T,
        "source 'hello' and target 'ohlo' must be non-empty and equally long",
        good("hello", data={"target": "ohlo"}),
        subprocess=True,
    ),
    Case(
        "hello-count-mismatch",
        T,
        "2 source string(s) but 1 target string(s)",
        good("hello", data={"source": ["hello", "hallo"], "target": ["ohlol"]}),
    ),
    Case("hello-empty-strings", T, "source '' and target '' must be non-empty", good("hello", data={"source": "", "target": ""})),
    Case("hello-no-strings", T, "no source strings; give at least one", good("hello", data={"source": [], "target": []})),
    Case(
        "hello-unequal-sources",
        T,
        "all source strings must have the same length",
        good("hello", data={"source": ["hello", "hi"], "target": ["ohlol", "ih"]}),
    ),
    Case(
        "hello-source-not-text", T, "data.source.str: input should be a valid string (got 5)", good("hello", data={"source": 5})
    ),
    Case(
        "hello-prefix-outside-vocabulary",
        (*P, "-p", "hex"),
        "prefix 'hex': 'x' — use only this run's characters 'ehlo'",
        setup="trained",
        **HE,
    ),
    Case(
        "hello-prefix-empty", (*P, "-p", "  "), "prefix '': empty — use only this run's characters 'ehlo'", setup="trained", **HE
    ),
    Case(
        "hello-predict-changed-source",
        (*P, "-p", "hello", "--set", "data.source=hallo"),
        "trained with data.source='hello' but the config says 'hallo'",
        setup="trained",
        **HE,
    ),
    # imdb: Keras's npz and word index
    Case("imdb-missing-npz", T, "data.path nope.npz: file not found; point it at a Keras-layout imdb.npz", **imdb("nope.npz")),
    Case("imdb-npz-corrupt", T, "imdb.npz: not a readable .npz file", **imdb(files={"imdb.npz": b"PK\x03\x04 truncated"})),
    Case(
        "imdb-npz-missing-keys",
        T,
        "imdb.npz: no y_train, x_test, y_test inside",
        **imdb(files={"imdb.npz": npz_of(x_train=IMDB_X)}),
    ),
    Case(
        "imdb-npz-words-not-ids",
        T,
        "imdb.npz: x_train: review 0 is not a list of non-negative word ids",
        **imdb(files={"imdb.npz": npz_of(x_train=objects(["great", "film"]), y_train=[1], x_test=IMDB_X, y_test=IMDB_Y)}),
    ),
    Case(
        "imdb-npz-foreign-pickle",
        T,
        "x_train/y_train unreadable (refused fractions.Fraction); only arrays of word-id lists",
        **imdb(
            files={
                "imdb.npz": npz_of(
                    x_train=objects(__import__("fractions").Fraction(1, 2)), y_train=[1], x_test=IMDB_X, y_test=IMDB_Y
                )
            }
        ),
    ),
    Case(
        "imdb-npz-bad-labels",
        T,
        "imdb.npz: y_train must hold one 0/1 label per review in x_train",
        **imdb(files={"imdb.npz": npz_of(x_train=IMDB_X, y_train=IMDB_Y * 2, x_test=IMDB_X, y_test=IMDB_Y)}),
    ),
    Case(
        "imdb-word-index-not-a-mapping",
        T,
        "imdb_word_index.json: expected a JSON object mapping words to ranks 1, 2, …",
        **imdb(files={"imdb.npz": IMDB_NPZ, "imdb_word_index.json": '["great", "awful"]'}),
    ),
    Case(
        "imdb-word-index-not-utf8",
        T,
        "imdb_word_index.json: not a readable word index json (UnicodeDecodeError)",
        **imdb(files={"imdb.npz": IMDB_NPZ, "imdb_word_index.json": b'{"caf\xe9": 1}'}),
    ),
    Case("imdb-word-index-missing", T, "data.word_index nope.json: file not found", **imdb(word_index="nope.json")),
    Case("imdb-offline-nothing-cached", T, "imdb.npz is not cached at", **imdb(None, {}), setup="keras_home", patch=IMDB_OFFLINE),
    Case("imdb-num-words-too-small", T, "num_words 4 leaves no word ids above index_from 3; raise it", **imdb(num_words=4)),
    Case("imdb-maxlen-0", T, "data.maxlen: input should be greater than or equal to 1 (got 0)", **imdb(maxlen=0)),
    Case("imdb-unknown-source", T, "data.source: 'folder' is not allowed", **imdb(source="folder")),
    Case(
        "imdb-bucketed-distributed",
        (*T, "--set", "training.distribute=mirrored"),
        "training.distribute: this dataset feeds its own batches (e.g. data.bucket_by_length: true)",
        **imdb(bucket_by_length=True),
    ),
    # imdb: aclImdb folders and tarballs
    Case(
        "imdb-directory-needs-path",
        T,
        "source 'directory' needs data.path",
        **acl() | {"config": good("imdb", data={"source": "directory", "path": None})},
    ),
    Case("imdb-directory-missing", T, "data.path nope: no such folder or file", **acl("nope")),
    Case(
        "imdb-directory-no-neg",
        T,
        "no train/neg/*.txt reviews; an aclImdb folder needs",
        **acl(**{f"aclImdb/train/neg/{i}_2.txt": None for i in range(2)}),
    ),
    Case("imdb-directory-no-test", T, "no test/neg/*.txt reviews", **acl(**{k: None for k in ACL if "/test/" in k})),
    Case(
        "imdb-directory-empty-class",
        T,
        "every train/neg/*.txt review is empty",
        **acl(**{f"aclImdb/train/neg/{i}_2.txt": " \n" for i in range(2)}),
    ),
    Case(
        "imdb-review-not-utf8",
        T,
        "0_2.txt: not UTF-8 text (byte 3); re-save the review as UTF-8",
        **acl(**{"aclImdb/train/neg/0_2.txt": b"caf\xe9 awful"}),
    ),
    Case(
        "imdb-tarball-corrupt",
        T,
        "acl.tar.gz: not a readable .tar.gz",
        **acl("acl.tar.gz") | {"files": {"acl.tar.gz": b"\x1f\x8b not gzip"}},
    ),
    Case(
        "imdb-tarball-escapes",
        T,
        "member '../evil.txt' points outside the archive's folder; refused",
        **acl("acl.tar.gz") | {"files": {"acl.tar.gz": tar_of({**ACL, "../evil.txt": "great"})}},
    ),
    # imdb: show, evaluate, predict
    Case(
        "imdb-show-index-out-of-range",
        ("show", "{cfg}", "--index", "99"),
        "--index 99: the train split has 8 samples; give 0 to 7",
        **IM,
    ),
    Case("imdb-evaluate-before-training", ("evaluate", "{cfg}"), "no trained model yet; run `rnnlab train", **IM),
    Case("imdb-predict-before-training", (*P, "-p", "great film"), "no trained model yet; run `rnnlab train", **IM),
    Case(
        "imdb-predict-changed-num-words",
        (*P, "-p", "great film", "--set", "data.num_words=30"),
        "trained with data.num_words=20 but the config says 30",
        setup="trained",
        **IM,
    ),
    Case(
        "imdb-predict-no-words",
        (*P, "-p", "!!!"),
        "review '!!!' has no words to read; give a sentence of words",
        setup="trained",
        **IM,
    ),
    # text: the user's own labelled texts
    Case("text-needs-path", T, "dataset 'text' needs data.path", **texts(path=None)),
    Case(
        "text-missing-file",
        T,
        "data.path nope.csv: no such file or folder",
        **texts() | {"config": good("text", data={"path": "nope.csv"})},
    ),
    Case("text-unknown-format", T, "texts.txt: cannot tell the format from the name; set data.format", **texts("texts.txt")),
    Case("text-path-and-fraction", T, "give data.test_path or data.test_fraction, not both", **texts(test_path="texts.csv")),
    Case(
        "text-missing-column",
        T,
        "texts.csv: no column 'text' (data.text_column); the header has 'body', 'label': set data.text_column to one of them",
        **texts(content=GOOD_CSV.replace("text,label", "body,label", 1)),
    ),
    Case(
        "text-csv-short-row",
        T,
        "texts.csv: line 3: 1 field(s) where the header has 2",
        **texts(content="text,label\ngreat,pos\nno label here\n"),
    ),
    Case(
        "text-not-utf8",
        T,
        "texts.csv: line 3: not UTF-8 text (byte 29); re-save the file as UTF-8",
        **texts(content=b"text,label\ngreat film,pos\ncaf\xe9 awful,neg\n"),
    ),
    Case("text-bad-gz", T, "texts.csv.gz: not a readable .gz file", **texts("texts.csv.gz", b"\x1f\x8b not gzip")),
    Case(
        "text-jsonl-not-an-object",
        T,
        "texts.jsonl: line 2: a list, not an object; each line must be one object",
        **texts("texts.jsonl", '{"text": "great", "label": "pos"}\n["awful", "neg"]\n'),
    ),
    Case(
        "text-blank-label",
        T,
        "texts.csv: line 3: blank label (data.label_column 'label'); give every text a label or remove the row",
        **texts(content="text,label\ngreat,pos\nawful, \n"),
    ),
    Case("text-all-empty", T, "texts.csv: no texts, or every text is empty", **texts(content="text,label\n ,pos\n,neg\n")),
    Case(
        "text-one-label",
        T,
        "every text has the label 'pos'; a classifier needs at least two labels",
        **texts(content="text,label\na,pos\nb,pos\n"),
    ),
    Case(
        "text-lonely-label",
        T,
        "label 'odd' has only 1 example(s); a stratified test split needs at least 2 of each",
        **texts(content=GOOD_CSV + "strange film,odd\n"),
    ),
    Case("text-labels-unseen", T, "data.labels: 'neutral' never appears in texts.csv", **texts(labels=["pos", "neutral"])),
    Case(
        "text-test-label-unknown",
        T,
        "test.csv: line 2: label 'meh' is not among the training labels ('neg', 'pos')",
        **texts(test_path="test.csv", test_fraction=None)
        | {"files": {**DATA_FILES["text"], "test.csv": "text,label\nok film,meh\n"}},
    ),
    Case(
        "text-folder-one-class",
        T,
        "only one class folder (pos); a folder dataset needs one subfolder per class, at least two",
        **texts("reviews") | {"files": {"reviews/pos/1.txt": "great", "reviews/pos/2.txt": "superb"}},
    ),
    Case("text-predict-no-words", (*P, "-p", "!!!"), "text '!!!' has no words to read", setup="trained", **TX),
    Case("predict-output-not-csv", (*P, "-o", "a.txt"), "--output a.txt: write answers to a .csv or .jsonl file", **TX),
    # verify, export, plot, runs, init
    Case("verify-not-a-run-folder", ("verify", "{tmp}"), "not a run folder (no config.yaml)"),
    Case("verify-before-training", ("verify", "{cfg}"), "no trained model yet; run `rnnlab train"),
    Case(
        "verify-negative-tolerance",
        ("verify", "checkpoints/good", "--tolerance", "-1"),
        "Invalid value for '--tolerance'",
        setup="trained",
    ),
    Case(
        "export-unknown-format",
        ("export", "checkpoints/good", "--format", "tflite"),
        "--format 'tflite': unknown export format; use one of keras, saved_model, onnx",
        setup="trained",
    ),
    Case(
        "export-out-not-keras",
        ("export", "checkpoints/good", "--out", "m.h5"),
        "--out m.h5: Keras loads only files ending in .keras",
        setup="trained",
    ),
    Case(
        "export-out-occupied",
        ("export", "checkpoints/good", "--format", "saved_model", "--out", "occupied"),
        "--out occupied: exists and is not a SavedModel",
        setup="trained",
        files={"occupied/notes.txt": "mine"},
    ),
    Case("export-not-a-run-folder", ("export", "{tmp}"), "not a run folder (no config.yaml)"),
    Case(
        "plot-unknown-metric",
        ("plot", "checkpoints/good", "--metric", "val_accuracy"),
        "no metric 'val_accuracy' in its history; available: accuracy, learning_rate, loss",
        setup="trained",
    ),
    Case(
        "plot-out-not-png",
        ("plot", "checkpoints/good", "--metric", "loss", "--out", "x.jpg"),
        "--out x.jpg: the picture is a PNG",
        setup="trained",
    ),
    Case("plot-not-a-run-folder", ("plot", "{tmp}", "--metric", "loss"), "not a run folder (no history.csv)"),
    Case(
        "plot-untrained-run",
        ("plot", "checkpoints/fresh", "--metric", "loss"),
        "not trained yet (no history.csv)",
        files={"checkpoints/fresh/config.yaml": "data: {dataset: alphabet}\n"},
    ),
    Case("plot-no-runs", ("plot",), "Missing argument 'runs'"),
    Case("runs-missing-root", ("runs", "nope"), "nope: no such folder; runs land in experiment.output_root"),
    Case("runs-bad-filter", ("runs", ".", "--filter", "colour=red"), "--filter 'colour=red': give KEY=VALUE with KEY one of"),
    Case("runs-bad-sort", ("runs", ".", "--sort", "size"), "--sort 'size': sort by one of"),
    Case("sweep-nothing", ("sweep", "{cfg}"), "nothing to sweep; give --grid KEY=V1,V2"),
    Case(
        "sweep-range-without-random",
        ("sweep", "{cfg}", "--range", "model.units=2:8"),
        "--range draws values at random; add --random N",
    ),
    Case(
        "sweep-bad-range",
        ("sweep", "{cfg}", "--random", "2", "--range", "model.units=8:2"),
        "--range 'model.units=8:2': expected KEY=LOW:HIGH",
    ),
    Case("train-not-a-run-folder", ("train", "{tmp}"), "not a run folder (no config.yaml)"),
    Case("init-existing-file", ("init", "good", "--out", "{cfg}"), "already exists; pass --force"),
    Case("init-out-not-yaml", ("init", "x", "--out", "x.txt"), "--out x.txt: configs are .yaml files"),
    Case("init-unknown-dataset", ("init", "x", "--dataset", "alphabt"), "data.dataset: unknown dataset 'alphabt'"),
    Case("init-bad-name", ("init", "../x", "--out", "x.yaml"), "experiment.name: run name '../x' must be a plain folder name"),
]


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """One tiny trained run per dataset (its GOODS config, 1 epoch), trained on first use and
    copied into each case that needs one."""
    from rnnlab.config import validate
    from rnnlab.train.trainer import train

    runs: dict[str, Path] = {}

    def trained(dataset: str) -> Path:
        if dataset not in runs:
            folder = tmp_path_factory.mktemp(f"trained-{dataset}")
            raw = good(dataset, experiment={"output_root": str(folder), "name": "good"})
            for name, content in DATA_FILES.get(dataset, {}).items():
                write_file(folder / name, content)
            if raw["data"].get("path"):
                raw["data"]["path"] = str(folder / raw["data"]["path"])
            runs[dataset] = train(validate(raw, source="test"), verbose=0).run_dir
        return runs[dataset]

    return trained


def write_file(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def copy_run(trained: Path, tmp: Path) -> Path:
    """The trained run under tmp/checkpoints/good, its config as if trained from tmp (data files by name)."""
    run = tmp / "checkpoints" / "good"
    shutil.copytree(trained, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["experiment"]["output_root"] = "checkpoints"
    if config["data"].get("path"):
        config["data"]["path"] = Path(config["data"]["path"]).name
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return reseal(run)


def reseal(run: Path) -> Path:
    """Rewrite the run's manifest over its files as they are now, as someone who edits a run folder
    and its manifest would: the checks behind the manifest must still catch what was done."""
    from rnnlab.run.files import RunFiles, write_manifest

    files = RunFiles(run)
    write_manifest(files, json.loads(files.manifest.read_text())["run_id"])
    return run


def damaged(change: Callable[[Path], object]) -> Callable[[Path, Path], None]:
    """A SETUPS entry: the copied run with ``change`` done to its folder and the manifest resealed."""

    def setup(tmp: Path, trained: Path) -> None:
        change(tmp / "checkpoints/good")
        reseal(tmp / "checkpoints/good")

    return setup


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
    "corrupt_model": damaged(lambda run: (run / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")),
    "lambda_model": damaged(lambda_model),
    "corrupt_run_config": damaged(lambda run: (run / "config.yaml").write_text("model: [units\n")),
    "corrupt_task": damaged(lambda run: (run / "task.json").write_text('{"kind": ')),
    "missing_vocab": damaged(lambda run: (run / "vocab.json").unlink()),
    "corrupt_backup": lambda tmp, trained: _corrupt_backup(tmp / "checkpoints/good"),
    "locked": lambda tmp, trained: hold_lock(tmp / "checkpoints/good/.lock"),
    "keras_home": lambda tmp, trained: (tmp / "keras-home/datasets").mkdir(parents=True),
}
NEEDS_RUN = {
    "trained",
    "latin1_input",
    "corrupt_model",
    "lambda_model",
    "corrupt_run_config",
    "corrupt_task",
    "missing_vocab",
    "corrupt_backup",
    "locked",
}


HELD: list[int] = []


def hold_lock(path: Path) -> None:
    """Take the run's lock as a running ``rnnlab train`` would (an flock naming its holder), for the rest of the session."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR)
    os.write(fd, b"4242@elsewhere")
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    HELD.append(fd)


def _interrupted(run: Path) -> None:
    for name in ("model.keras", "metrics.json", "weights.txt", "curves.png", "summary.txt", "manifest.json"):
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
    for name, content in case.files.items():
        write_file(tmp / name, content)
    cfg = tmp / f"{case.name}.yaml"
    if isinstance(case.config, (str, bytes)):
        write_file(cfg, case.config)
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
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, cli, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = request.getfixturevalue("trained_runs")(case.dataset) if case.setup in NEEDS_RUN | {"interrupted"} else tmp_path
    argv = prepare(case, tmp_path, trained)
    for target, value in case.patch.items():
        monkeypatch.setattr(target, value.format(tmp=tmp_path))
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
    done = subprocess.run(
        [sys.executable, "-m", "rnnlab", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert_one_clean_line(done.stderr, done.returncode, case)
    assert done.stdout == ""
    assert snapshot(tmp_path) == before


def troubleshooting_rows() -> dict[str, str]:
    page = (PROJECT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `` (.+?) `` \| (.+?) \|$", page, flags=re.M)
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
