"""A dataset from another installed package: registered through the ``rnnlab.datasets`` entry point,
configured, trained and asked through the real CLI, with rnnlab's source untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

EXAMPLE = PROJECT / "docs" / "examples" / "counting.py"


def install_plugin(site: Path, entry: str = "counting = counting:Counting") -> None:
    """What ``pip install`` of a package declaring the entry point leaves behind: the module and its dist-info."""
    shutil.copy(EXAMPLE, site / "counting.py")
    info = site / "rnnlab_counting-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnlab-counting\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[rnnlab.datasets]\n{entry}\n", encoding="utf-8")


def rnnlab(*args: str, site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(PROJECT)])}
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_an_installed_package_adds_a_dataset(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    config = tmp_path / "counting.yaml"
    config.write_text(
        "data: {dataset: counting, modulo: 7, window: 3}\n"
        "model: {encoding: embedding, embedding_dim: 4, units: 16}\n"
        "training: {epochs: 150, learning_rate: 0.05, batch_size: 7}\n",
        encoding="utf-8",
    )
    shown = rnnlab("config", str(config), site=site, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "modulo: 7" in shown.stdout
    trained = rnnlab("train", str(config), site=site, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "accuracy 1.0000" in trained.stdout
    answered = rnnlab("predict", str(config), "--prefix", "3 4 5", "--prefix", "6 0 1", site=site, cwd=tmp_path)
    assert answered.stdout.splitlines() == ["3 4 5 -> 6", "6 0 1 -> 2"], answered.stderr
    refused = rnnlab("predict", str(config), "--prefix", "3 4 9", site=site, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip() == "error: prefix '3 4 9': give 3 numbers from 0 to 6, e.g. 3 4 5"
    unknown = rnnlab("config", str(config), site=tmp_path, cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown dataset 'counting'" in unknown.stderr


def test_a_plugin_cannot_take_a_built_in_name_or_break_the_cli(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, entry="alphabet = counting:Counting\nbroken = no_such_module:Nothing")
    listed = rnnlab("init", "x", "--dataset", "alphabet", "--out", str(tmp_path / "x.yaml"), site=site, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "letters:" in (tmp_path / "x.yaml").read_text(encoding="utf-8"), "the built-in alphabet was replaced"
    assert "the name is taken" in listed.stderr and "left out dataset 'broken'" in listed.stderr
