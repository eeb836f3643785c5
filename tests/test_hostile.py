"""The hostile catalogue: a run folder attacked, damaged or mixed with another run's files, and inputs
no config or data file should be. Every row runs the real CLI and must end in ONE ``error:`` line,
exit code 2, no traceback, and every file under the test's folder, the run folder and a folder
"outside" it, exactly as it was (links are not followed, nothing is half-written or cleaned up
behind the user's back).

The rows are grouped by the families of issue 19: damaged run files, files from another run,
links and special files, the backup's state, non-finite numbers, unbounded input, YAML surprises,
degenerate data. ``tests/test_errors.py`` holds the everyday mistakes; this file the hostile ones.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT
from tests.test_errors import (
    DATA_FILES,
    GOOD,
    assert_one_clean_line,
    copy_run,
    good,
    snapshot,
    trained_runs,
    write_file,
)

__all__ = ["trained_runs"]  # the module-scoped fixture, shared with the everyday catalogue

Damage = Callable[["Scene"], object]


@dataclass(frozen=True)
class Scene:
    """What a damage function works on: the copied run, the test folder, another trained run."""

    run: Path
    tmp: Path
    other: Path

    @property
    def outside(self) -> Path:
        return self.tmp / "outside"


@dataclass(frozen=True)
class Hostile:
    id: str
    args: tuple[str, ...]
    expected: str
    damage: Damage | None = None  # done to the copied run (None: no trained run needed)
    config: dict[str, Any] | str | bytes | None = None  # written to good.yaml; None: GOOD
    files: dict[str, str | bytes] = field(default_factory=dict)
    dataset: str = "alphabet"
    subprocess: bool = False


P, PR, E, T = (
    ("predict", "good.yaml", "-p", "a"),
    ("predict", "checkpoints/good", "-p", "a"),
    ("evaluate", "good.yaml"),
    (
        "train",
        "good.yaml",
    ),
)
COMMANDS = {"predict": P, "predict-folder": PR, "evaluate": E, "train": T}
RUN_FILES = ("config.yaml", "vocab.json", "task.json", "model.keras", "weights.npz", "history.csv", "metrics.json")


def truncated(name: str) -> Damage:
    return lambda s: (s.run / name).write_bytes((s.run / name).read_bytes()[: max(1, (s.run / name).stat().st_size // 2)])


def garbage(name: str) -> Damage:
    return lambda s: (s.run / name).write_bytes(b"\x00\xffnot what rnnlab wrote\n")


def emptied(name: str) -> Damage:
    return lambda s: (s.run / name).write_bytes(b"")


def deleted(name: str) -> Damage:
    return lambda s: (s.run / name).unlink()


def from_other(name: str) -> Damage:
    return lambda s: shutil.copyfile(s.other / name, s.run / name)


def linked(name: str) -> Damage:
    """The run file replaced by a link to a copy outside: following it would read or write there."""

    def damage(s: Scene) -> None:
        target = s.outside / name
        shutil.copyfile(s.run / name, target)
        (s.run / name).unlink()
        (s.run / name).symlink_to(target)

    return damage


def fifo(name: str) -> Damage:
    def damage(s: Scene) -> None:
        (s.run / name).unlink()
        os.mkfifo(s.run / name)

    return damage


def interrupted(s: Scene) -> None:
    """A run killed after its first epoch's backup and before it finished (no manifest, no model)."""
    for name in ("model.keras", "metrics.json", "weights.txt", "curves.png", "summary.txt", "manifest.json"):
        (s.run / name).unlink()
    backup = s.run / ".backup"
    backup.mkdir()
    shutil.copy(s.run / "best.weights.h5", backup / "epoch-1.weights.h5")
    (backup / "state.json").write_text('{"epoch": 1, "weights": "epoch-1.weights.h5"}')
    (backup / "run.json").write_text(json.dumps({"run_id": "0" * 32}))


def backup_state(state: Any) -> Damage:
    def damage(s: Scene) -> None:
        interrupted(s)
        shutil.copy(s.run / "best.weights.h5", s.outside / "evil.weights.h5")
        text = state if isinstance(state, str) else json.dumps(state)
        (s.run / ".backup/state.json").write_text(text.replace("OUTSIDE", str(s.outside)))

    return damage


def manifest_edit(change: Callable[[dict[str, Any]], object]) -> Damage:
    def damage(s: Scene) -> None:
        manifest = json.loads((s.run / "manifest.json").read_text())
        change(manifest)
        (s.run / "manifest.json").write_text(json.dumps(manifest))

    return damage


def changed(name: str) -> str:
    return f"{name}: changed since the run finished"


def missing(name: str) -> str:
    return f"{name}: missing, though manifest.json lists it"


def damaged_file_rows() -> list[Hostile]:
    """Each run file truncated, garbled, emptied or removed, under each command that reads it."""
    rows = []
    for name in RUN_FILES:
        stem = name.split(".")[0]
        for how, damage in (("truncated", truncated), ("garbage", garbage), ("empty", emptied)):
            for command in ("predict", "train"):
                rows.append(Hostile(f"{stem}-{how}-{command}", COMMANDS[command], changed(name), damage(name)))
        for command in ("predict", "evaluate", "train"):
            rows.append(Hostile(f"{stem}-deleted-{command}", COMMANDS[command], missing(name), deleted(name)))
    return rows


def other_run_rows() -> list[Hostile]:
    """A file copied in from another run (other letters, other units) is refused by name."""
    names = (*RUN_FILES, "best.weights.h5")
    return [
        Hostile(f"{name.split('.')[0]}-from-another-run-{command}", COMMANDS[command], changed(name), from_other(name))
        for name in names
        for command in ("predict-folder", "train")
        if not (name == "best.weights.h5" and command == "predict-folder")
    ] + [Hostile("best-weights-from-another-run-predict", P, changed("best.weights.h5"), from_other("best.weights.h5"))]


LINK = "is a link; run folders hold plain files only"


def link_rows() -> list[Hostile]:
    rows = [
        Hostile(f"{name.split('.')[0]}-is-a-link-{command}", COMMANDS[command], LINK, linked(name))
        for name in ("history.csv", "config.yaml", "model.keras", "best.weights.h5", "metrics.json")
        for command in ("predict", "train")
    ]
    return rows + [
        Hostile("backup-folder-is-a-link", T, ".backup: is a link", backup_is_a_link),
        Hostile(
            "history-is-a-fifo", T, "history.csv: not a regular file; run folders hold plain files only", fifo("history.csv")
        ),
        Hostile("model-is-a-fifo", P, "model.keras: not a regular file", fifo("model.keras")),
        Hostile("manifest-is-a-link", P, "manifest.json: is a link", linked("manifest.json")),
    ]


def backup_is_a_link(s: Scene) -> None:
    interrupted(s)
    shutil.move(s.run / ".backup", s.outside / "backup")
    (s.run / ".backup").symlink_to(s.outside / "backup")


STATE = ".backup/state.json: not a backup state rnnlab wrote; pass --fresh"
MANIFEST = "manifest.json: not a manifest rnnlab wrote"


def backup_rows() -> list[Hostile]:
    """The backup's state names its weights; a path, a wrong type or a missing file is refused, never followed."""
    states: dict[str, Any] = {
        "points-outside": {"epoch": 1, "weights": "OUTSIDE/evil.weights.h5"},
        "climbs-out": {"epoch": 1, "weights": "../../outside/evil.weights.h5"},
        "epoch-is-text": {"epoch": "1", "weights": "epoch-1.weights.h5"},
        "epoch-negative": {"epoch": -1, "weights": "epoch-1.weights.h5"},
        "epoch-is-true": {"epoch": True, "weights": "epoch-1.weights.h5"},
        "not-weights": {"epoch": 1, "weights": "config.yaml"},
        "not-json": "{epoch: 1",
        "a-list": [1, "epoch-1.weights.h5"],
    }
    rows = [Hostile(f"backup-state-{key}", T, STATE, backup_state(value)) for key, value in states.items()]
    return rows + [
        Hostile(
            "backup-weights-missing",
            T,
            "epoch-2.weights.h5: the backup's weights are missing or a link; pass --fresh",
            backup_state({"epoch": 2, "weights": "epoch-2.weights.h5"}),
        ),
        Hostile(
            "backup-marker-garbage",
            T,
            ".backup/run.json: not the marker rnnlab writes",
            lambda s: (interrupted(s), (s.run / ".backup/run.json").write_text("[]")),
        ),
    ]


def manifest_rows() -> list[Hostile]:
    return [
        Hostile("manifest-deleted-predict", P, "manifest.json: missing, so this run never finished", deleted("manifest.json")),
        Hostile("manifest-deleted-train", T, "but no manifest.json and no backup", deleted("manifest.json")),
        Hostile("manifest-garbage", P, MANIFEST, garbage("manifest.json")),
        Hostile("manifest-truncated-train", T, MANIFEST, truncated("manifest.json")),
        Hostile("manifest-bad-run-id", P, MANIFEST, manifest_edit(lambda m: m.update(run_id="../x"))),
        Hostile("manifest-bad-format", P, MANIFEST, manifest_edit(lambda m: m.update(format=2))),
        Hostile("manifest-bytes-as-text", P, MANIFEST, manifest_edit(lambda m: m["files"]["vocab.json"].update(bytes="65"))),
        Hostile("manifest-without-config", P, MANIFEST, manifest_edit(lambda m: m["files"].pop("config.yaml"))),
        Hostile(
            "manifest-names-a-path",
            P,
            "manifest.json: lists '../outside/secret.txt', which is no run file",
            manifest_edit(lambda m: m["files"].update({"../outside/secret.txt": m["files"]["vocab.json"]})),
        ),
        Hostile(
            "manifest-lists-a-lost-figure",
            P,
            missing("forecast.png"),
            manifest_edit(lambda m: m["files"].update({"forecast.png": m["files"]["curves.png"]})),
        ),
        Hostile("curves-replaced", P, changed("curves.png"), garbage("curves.png")),
        Hostile("summary-edited", T, changed("summary.txt"), lambda s: (s.run / "summary.txt").write_text("mine\n")),
    ]


A = "data: {dataset: alphabet}\n"


def number_rows() -> list[Hostile]:
    """Non-finite numbers, in the file or through --set, in every section that takes a float."""
    finite = "input should be a finite number"
    keys = {
        "lr-minus-inf": ("training", "learning_rate", "-.inf"),
        "lr-nan": ("training", "learning_rate", ".nan"),
        "clipnorm-inf": ("training", "clipnorm", ".inf"),
        "clipnorm-overflow": ("training", "clipnorm", "1e400"),
        "momentum-nan": ("training", "momentum", ".nan"),
        "validation-split-nan": ("training", "validation_split", ".nan"),
        "dropout-nan": ("model", "dropout", ".nan"),
        "min-delta-inf": ("training", "early_stopping", "{patience: 2, min_delta: .inf}"),
        "backup-interval-inf": ("training", "backup_interval_s", ".inf"),
    }
    rows = []
    for key, (section, name, value) in keys.items():
        config = A + f"{section}: {{{name}: {value}}}\n"
        rows.append(Hostile(f"nonfinite-{key}", T, finite, config=config))
    return rows + [
        Hostile("set-lr-inf", (*T, "--set", "training.learning_rate=.inf"), f"training.learning_rate: {finite}"),
        Hostile("set-dropout-nan", (*T, "--set", "model.dropout=.nan"), f"model.dropout: {finite}"),
        Hostile("set-lr-overflow", (*T, "--set", "training.learning_rate=1e999"), f"training.learning_rate: {finite}"),
    ]


def nested(depth: int) -> str:
    return A + "model: " + "{a: " * depth + "1" + "}" * depth + "\n"


def bounds_rows() -> list[Hostile]:
    """Unbounded input: every size that could exhaust memory or time is refused before it is used."""
    return [
        Hostile("nested-mappings-500", T, "nested deeper than 32 levels", config=nested(500)),
        Hostile("nested-lists-in-set", (*T, "--set", "model.units=" + "[" * 200 + "]" * 200), "nested deeper than 32 levels"),
        Hostile(
            "alias-fanout",
            T,
            "aliases",
            config=A
            + "x: &x [1, 2, 3, 4, 5, 6, 7, 8]\n"
            + "".join(f"y{i}: &y{i} [*x, *x, *x, *x, *x, *x, *x, *x, *x]\n" for i in range(70)),
        ),
        Hostile(
            "embedding-huge",
            ("summary", "good.yaml"),
            "over rnnlab's limit of 50,000,000",
            config=good(model={"units": 50_000, "num_layers": 30}),
        ),
        Hostile(
            "units-set-huge", ("summary", "good.yaml", "--set", "model.units=999999999"), "over rnnlab's limit of 50,000,000"
        ),
        Hostile("name-200", T, "run name is 200 characters long; use at most 100", config=good(experiment={"name": "b" * 200})),
        Hostile("name-set-300", (*T, "--set", "experiment.name=" + "c" * 300), "run name is 300 characters long"),
        Hostile("config-is-dev-zero", ("train", "/dev/zero"), "/dev/zero: not a regular file"),
        Hostile("config-is-fifo", ("train", "pipe.yaml"), "pipe.yaml: not a regular file", damage=None, files={}),
        Hostile(
            "input-file-dev-zero", (*P[:2], "--input-file", "/dev/zero"), "--input-file /dev/zero: not a regular file", trained
        ),
        Hostile("input-file-fifo", (*P[:2], "--input-file", "pipe.txt"), "--input-file pipe.txt: not a regular file", trained),
        Hostile(
            "data-path-dev-zero",
            T,
            "/dev/zero: not a regular file",
            config=good("lyrics", data={"path": "/dev/zero"}),
            dataset="lyrics",
        ),
        Hostile(
            "zip-bomb-ratio",
            T,
            "inflates 1,",
            config=good("lyrics", data={"path": "bomb.zip"}),
            files={"bomb.zip": deflated("lyrics.txt", "ab" * (4 << 20))},
            dataset="lyrics",
        ),
        Hostile("prefix-one-megabyte", ("predict", "good.yaml", "-p", "a" * 1_000_000), "(1,000,000 characters)", trained),
        Hostile("prefix-long-words", ("predict", "good.yaml", "-p", "ab " * 100_000), "(299,999 characters)", trained),
    ]


def deflated(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def trained(s: Scene) -> None:
    """No damage: the command needs a trained run (and special files beside it)."""
    os.mkfifo(s.tmp / "pipe.txt")


def yaml_rows() -> list[Hostile]:
    """YAML 1.2 as written: no on/off booleans, octal or base-60 numbers, duplicate keys anywhere."""
    return [
        Hostile("duplicate-nested-key", T, "duplicate key 'units'", config=A + "model: {units: 3, units: 4}\n"),
        Hostile("duplicate-data-key", T, "duplicate key 'dataset'", config="data:\n  dataset: alphabet\n  dataset: hello\n"),
        Hostile(
            "on-is-not-true",
            T,
            "training.tensorboard: input should be a valid boolean (got 'on')",
            config=A + "training: {tensorboard: on}\n",
        ),
        Hostile("off-is-not-false", T, "input should be a valid boolean (got 'off')", config=A + "model: {bidirectional: off}\n"),
        Hostile("no-is-not-false", T, "input should be a valid boolean (got 'no')", config=A + "model: {bidirectional: no}\n"),
        Hostile("float-units", T, "model.units: input should be a valid integer (got 3.0)", config=A + "model: {units: 3.0}\n"),
        Hostile("yes-units", T, "model.units: input should be a valid integer (got 'yes')", config=A + "model: {units: yes}\n"),
        Hostile("true-units", T, "model.units: input should be a valid integer (got True)", config=A + "model: {units: true}\n"),
        Hostile(
            "float-epochs",
            T,
            "training.epochs: input should be a valid integer (got 2.5)",
            config=A + "training: {epochs: 2.5}\n",
        ),
        Hostile(
            "sexagesimal-epochs",
            T,
            "training.epochs: input should be a valid integer (got '1:30')",
            config=A + "training: {epochs: 1:30}\n",
        ),
        Hostile("set-model-empty", (*T, "--set", "model={}"), "would replace the whole model section"),
        Hostile("set-data-null", (*T, "--set", "data=null"), "data: input should be a valid dictionary"),
        Hostile("set-on", (*T, "--set", "training.tensorboard=on"), "input should be a valid boolean (got 'on')"),
        Hostile("python-tag", T, "remove the tag", config=A + "model: !!python/object:os.system {units: 3}\n"),
    ]


def corpus_row(id: str, expected: str, name: str, text: str) -> Hostile:
    return Hostile(id, T, expected, config=good("lyrics", data={"path": name}), files={name: text}, dataset="lyrics")


def degenerate_rows() -> list[Hostile]:
    one_class = "text,label\n" + "".join(f"great film {i},pos\n" for i in range(8))
    return [
        corpus_row(
            "one-symbol-corpus",
            "holds only the character 'a'; a language model needs a text of at least two",
            "one.txt",
            "a" * 200,
        ),
        corpus_row("whitespace-corpus", "blank.txt: the corpus is empty; give a file with text in it", "blank.txt", " " * 200),
        Hostile(
            "one-class-texts",
            T,
            "every text has the label 'pos'; a classifier needs at least two labels",
            config=good("text", data={"path": "one.csv"}),
            files={"one.csv": one_class},
            dataset="text",
        ),
    ]


CASES = [
    *damaged_file_rows(),
    *other_run_rows(),
    *link_rows(),
    *backup_rows(),
    *manifest_rows(),
    *number_rows(),
    *bounds_rows(),
    *yaml_rows(),
    *degenerate_rows(),
]


@pytest.fixture(scope="module")
def other_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another finished alphabet run (six letters, four units): the source of the files copied in."""
    from rnnlab.config import validate
    from rnnlab.train.trainer import train

    folder = tmp_path_factory.mktemp("other")
    raw = good(data={"letters": "abcdef"}, model={"units": 4}, experiment={"output_root": str(folder), "name": "other"})
    return train(validate(raw, source="test"), verbose=0).run_dir


def staged(case: Hostile, tmp: Path, trained: Callable[[str], Path], other: Path) -> None:
    (tmp / "outside").mkdir()
    (tmp / "outside" / "secret.txt").write_text("outside the run: must not change\n")
    if case.damage is not None:
        run = copy_run(trained(case.dataset), tmp)
        case.damage(Scene(run, tmp, other))
    for name, content in {**DATA_FILES.get(case.dataset, {}), **case.files}.items():
        write_file(tmp / name, content)
    if case.id == "config-is-fifo":
        os.mkfifo(tmp / "pipe.yaml")
    config = case.config if case.config is not None else GOOD
    write_file(tmp / "good.yaml", config if isinstance(config, (str, bytes)) else yaml.safe_dump(config))


def test_catalogue_holds_a_hundred_hostile_cases() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_in_one_line_and_changes_nothing(
    case: Hostile, cli, tmp_path: Path, trained_runs: Callable[[str], Path], other_run: Path
) -> None:
    staged(case, tmp_path, trained_runs, other_run)
    before = snapshot(tmp_path)
    result = cli(*case.args)
    assert_one_clean_line(result.stderr, result.exit_code, case)  # type: ignore[arg-type]
    assert len(result.stderr) < 600, f"{case.id}: an error line of {len(result.stderr)} characters"
    assert snapshot(tmp_path) == before, f"{case.id}: files changed"


SUBPROCESS = [
    c for c in CASES if c.id in {"config-is-dev-zero", "input-file-fifo", "history-is-a-link-train", "backup-state-climbs-out"}
]


@pytest.mark.parametrize("case", SUBPROCESS, ids=[c.id for c in SUBPROCESS])
def test_hostile_input_through_a_real_process(
    case: Hostile, tmp_path: Path, trained_runs: Callable[[str], Path], other_run: Path
) -> None:
    staged(case, tmp_path, trained_runs, other_run)
    before = snapshot(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-m", "rnnlab", *case.args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert_one_clean_line(done.stderr, done.returncode, case)  # type: ignore[arg-type]
    assert snapshot(tmp_path) == before
