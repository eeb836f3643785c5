"""Nothing in a config, a run folder or a data file may run code: the package never uses the
unsafe loaders, and every Keras model load passes ``safe_mode=True``."""

from __future__ import annotations

import re

from tests.conftest import PROJECT

SOURCES = sorted((PROJECT / "rnnlab").rglob("*.py"))
FORBIDDEN = [
    "yaml.load(",
    "yaml.unsafe_load",
    "yaml.full_load",
    "allow_pickle=True",
    "safe_mode=False",
    "pickle.load",
    "eval(",
    "exec(",
]


def test_no_unsafe_loader_appears_in_the_package() -> None:
    found = [f"{p.relative_to(PROJECT)}: {word}" for p in SOURCES for word in FORBIDDEN if word in p.read_text(encoding="utf-8")]
    assert SOURCES and not found, found


def test_every_model_load_is_in_safe_mode() -> None:
    calls = [(p, m.group(0)) for p in SOURCES for m in re.finditer(r"load_model\([^)]*\)", p.read_text(encoding="utf-8"))]
    assert calls, "expected at least one load_model call"
    unsafe = [f"{p.relative_to(PROJECT)}: {call}" for p, call in calls if "safe_mode=True" not in call]
    assert not unsafe, unsafe
