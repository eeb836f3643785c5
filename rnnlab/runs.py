"""Opening an existing run folder: from a config (``checkpoints/<name>/``) or the folder itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rnnlab.artifacts import RunFiles, read_json
from rnnlab.config import Config, load_config, validate
from rnnlab.datasets.base import TaskSpec
from rnnlab.errors import ConfigError, RunError


@dataclass
class Run:
    config: Config
    files: RunFiles
    spec: TaskSpec
    state: dict[str, Any]


def saved_config(files: RunFiles) -> Config:
    try:
        raw = yaml.safe_load(files.config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RunError(f"{files.config}: unreadable run config ({exc}); retrain with `rnnlab train CONFIG --fresh`") from None
    return validate(raw if isinstance(raw, dict) else {}, source=str(files.config))


def check_same_model(files: RunFiles, config: Config, state: dict[str, Any] | None = None) -> None:
    """A run answers only for the model and data it was trained with."""
    saved = yaml.safe_load(files.config.read_text(encoding="utf-8")) or {}
    now = config.model_dump(mode="json")
    for section in ("model", "data"):
        for key, value in now[section].items():
            before = (saved.get(section) or {}).get(key)
            if before != value:
                raise RunError(
                    f"{files.root}: this run was trained with {section}.{key}={before!r} but the config says {value!r}; "
                    f"pass --fresh to `rnnlab train` to start over, or use another experiment.name"
                )
    if state is not None and files.vocab.is_file() and read_json(files.vocab) != state:
        raise RunError(f"{files.root}: the data's vocabulary differs from the saved run's; pass --fresh to start over")


def open_run(target: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> Run:
    """A trained run, given its config file or its folder."""
    target = Path(target)
    if target.is_dir():
        files = RunFiles(target)
        if not files.config.is_file():
            raise RunError(f"{target}: not a run folder (no config.yaml); pass a config file or checkpoints/<name>")
        config = saved_config(files)
        if overrides:
            raise ConfigError("--set applies to config files, not run folders; edit the config and retrain instead")
    else:
        config = load_config(target, overrides)
        files = RunFiles(config.run_dir)
    if not files.model.is_file() or not files.task.is_file():
        raise RunError(f"{files.root}: no trained model yet; run `rnnlab train {target}` first")
    if not target.is_dir():
        check_same_model(files, config)
    spec = TaskSpec(**read_json(files.task))
    state = read_json(files.vocab) if files.vocab.is_file() else {}
    return Run(config, files, spec, state)
