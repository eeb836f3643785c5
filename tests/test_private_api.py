"""Private Keras/TensorFlow API: only in rnnlab/private_api.py, and present in the versions installed.

When an upgrade moves one of these names, this file fails first and says which, before a user's
training run meets it; the dependency bounds in pyproject.toml are the versions this passed on.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import version

import pytest

from rnnlab import private_api
from tests.conftest import PROJECT

PRIVATE_PREFIXES = ("keras.src", "tensorflow.python")


def test_keras_still_has_its_rnn_loop() -> None:
    loop = private_api.keras_rnn_loop()
    assert callable(loop), "keras.src.backend.rnn is gone: OneHotSimpleRNN (rnnlab/model/layers.py) needs a new loop"


def test_tensorflow_still_has_the_collective_health_check() -> None:
    extended = private_api.collective_extended()
    for name in ("_check_health_interval", "_check_health_initial_timeout"):
        assert hasattr(extended, name), f"CollectiveAllReduceExtended.{name} is gone: see rnnlab/private_api.py"
    before = (extended._check_health_interval, extended._check_health_initial_timeout)
    try:
        private_api.quicken_peer_health_check(5, 300)
        assert (extended._check_health_interval, extended._check_health_initial_timeout) == (5, 300)
    finally:
        extended._check_health_interval, extended._check_health_initial_timeout = before


def imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_other_module_reaches_into_private_api() -> None:
    offenders = []
    for path in sorted((PROJECT / "rnnlab").rglob("*.py")):
        if path.name == "private_api.py":
            continue
        for module in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            if module.startswith(PRIVATE_PREFIXES):
                offenders.append(f"{path.relative_to(PROJECT)} imports {module}")
    assert not offenders, "private Keras/TF API outside rnnlab/private_api.py: " + "; ".join(offenders)


def upper_bound(spec: str) -> tuple[int, ...]:
    match = re.search(r"<\s*([\d.]+)", spec)
    assert match, f"{spec!r} has no upper bound"
    return tuple(int(p) for p in match.group(1).split("."))


@pytest.mark.parametrize("package", ["tensorflow", "keras"])
def test_installed_versions_are_inside_the_declared_bounds(package: str) -> None:
    """The bounds name the newest releases this suite has run on; raise them only after it passes on a newer one."""
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(d for d in dependencies if re.match(rf"{package}\b", d))
    installed = tuple(int(p) for p in re.findall(r"\d+", version(package))[:3])
    assert installed < upper_bound(spec), f"{package} {version(package)} is past {spec}"
