"""The README is the product's manual: its commands and config reference must stay true."""

from __future__ import annotations

import re

from pydantic import BaseModel

from rnnlab.config import Config
from rnnlab.datasets import module, DATASETS
from tests.conftest import PROJECT

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def keys_of(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields) - {"dataset"}


def test_every_config_key_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", README, flags=re.M)) | set(re.findall(r"`([a-z_]+)` \(`", README))
    missing = []
    for section in ("experiment", "model", "training"):
        annotation = Config.model_fields[section].annotation
        missing += [f"{section}.{k}" for k in keys_of(annotation) if k not in documented and f"{k}.monitor" not in documented]
    for name in DATASETS:
        missing += [f"data.{k} ({name})" for k in keys_of(module(name).Options) if k not in documented]
    assert not missing, f"README lacks: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"Set up and run the tests.*?```bash\n(.+?)\n```", README, flags=re.S).group(1)
    assert command in (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
