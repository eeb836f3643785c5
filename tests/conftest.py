"""Shared helpers: tiny configs written into tmp_path and the CLI driven in-process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROJECT = Path(__file__).resolve().parents[1]
CONFIGS = PROJECT / "configs"
SHARED_DATA = Path(os.environ.get("RNNLAB_SHARED_DATA") or PROJECT.parent / "shared" / "data").expanduser()
"""Real data for the tests that skip without it: ``$RNNLAB_SHARED_DATA``, else ``../shared/data``."""


def write_config(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def shipped_config(name: str, folder: Path, **sections: dict[str, Any]) -> Path:
    """A copy of a shipped config whose runs land under ``folder``, with sections merged in."""
    raw = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text(encoding="utf-8"))
    raw.setdefault("experiment", {})["output_root"] = str(folder / "checkpoints")
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return write_config(folder, name, raw)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run ``rnnlab ARGS`` in-process from tmp_path; returns the click Result."""
    from rnnlab.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return invoke


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small trained alphabet runs under one checkpoints/ folder (SimpleRNN with validation, GRU without)."""
    from rnnlab.config import load_config
    from rnnlab.train.trainer import train

    folder = tmp_path_factory.mktemp("tiny_runs")
    plans = {
        "onehot_val": ("alphabet_onehot", {"epochs": 3, "validation_split": 0.4}, {}),
        "gru_embed": ("alphabet_embedding", {"epochs": 2}, {"layer": "gru"}),
    }
    runs = {}
    for name, (shipped, training, model) in plans.items():
        path = shipped_config(shipped, folder, experiment={"name": name}, training=training, model=model)
        runs[name] = train(load_config(path), verbose=0).run_dir
    return runs
