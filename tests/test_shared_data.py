"""Where the benchmarks and tests look for the real data: ``RNNLAB_SHARED_DATA``, else ``../shared/data``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

PRINT = {
    "bench": "import sys; sys.path.insert(0, 'bench'); import common; print(common.SHARED_DATA)",
    "tests": "from tests.conftest import SHARED_DATA; print(SHARED_DATA)",
}


def shared_data(kind: str, value: str | None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_SHARED_DATA"}
    if value is not None:
        env["RNNLAB_SHARED_DATA"] = value
    done = subprocess.run([sys.executable, "-c", PRINT[kind]], cwd=PROJECT, env=env, capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


@pytest.mark.parametrize("kind", sorted(PRINT))
def test_env_var_overrides_the_default_beside_the_checkout(kind: str, tmp_path: Path) -> None:
    assert shared_data(kind, None) == PROJECT.parent / "shared" / "data"
    assert shared_data(kind, "") == PROJECT.parent / "shared" / "data"
    assert shared_data(kind, str(tmp_path / "data")) == tmp_path / "data"
    assert shared_data(kind, "~/elsewhere") == Path.home() / "elsewhere"
