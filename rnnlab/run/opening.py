"""Opening an existing run folder: from a config (``checkpoints/<name>/``) or the folder itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from rnnlab.config import Config, load_config, validate
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import ConfigError, RunError
from rnnlab.run.files import RunFiles, read_json, vouched_run_id


@dataclass
class Run:
    config: Config
    files: RunFiles
    spec: TaskSpec
    state: dict[str, Any]


def saved_config_dict(files: RunFiles) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(files.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunError(f"{files.config}: unreadable run config ({problem}); retrain with `rnnlab train CONFIG --fresh`") from None
    if not isinstance(raw, dict):
        raise RunError(f"{files.config}: the run config is not a mapping; retrain with `rnnlab train CONFIG --fresh`")
    return raw


def saved_config(files: RunFiles) -> Config:
    return validate(saved_config_dict(files), source=str(files.config))


def saved_json(path: Path) -> Any:
    """A run's JSON artifact, or one line saying the run folder is damaged."""
    try:
        return read_json(path)
    except (OSError, ValueError) as exc:
        problem = "missing" if isinstance(exc, FileNotFoundError) else f"unreadable: {type(exc).__name__}"
        raise RunError(f"{path}: {problem}; the run folder is damaged, retrain with `rnnlab train CONFIG --fresh`") from None


def load_saved_model(files: RunFiles) -> Any:
    """The run's ``model.keras``, loaded with ``safe_mode=True`` (no code from the file runs)."""
    from rnnlab.model.layers import custom_objects
    from rnnlab.runtime import keras

    try:
        return keras().saving.load_model(files.model, safe_mode=True, custom_objects=custom_objects())
    except Exception as exc:
        if "safe_mode" in str(exc):
            raise RunError(
                f"{files.model}: refused: it holds Python code (e.g. a Lambda layer) that rnnlab never saves, so it "
                "did not come from `rnnlab train`; retrain with `rnnlab train CONFIG --fresh`"
            ) from None
        problem = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise RunError(
            f"{files.model}: cannot load the saved model ({type(exc).__name__}: {problem}); "
            "retrain with `rnnlab train CONFIG --fresh`"
        ) from None


def check_same_model(files: RunFiles, config: Config, state: dict[str, Any] | None = None) -> None:
    """A run answers only for the model and data it was trained with."""
    saved = saved_config_dict(files)
    now = config.model_dump(mode="json")
    for section in ("model", "data"):
        kept = saved.get(section) or {}
        for key, value in now[section].items():
            before = kept[key] if key in kept else default_of(getattr(config, section), key)
            if before != value:
                raise RunError(
                    f"{files.root}: this run was trained with {section}.{key}={before!r} but the config says {value!r}; "
                    f"pass --fresh to `rnnlab train` to start over, or use another experiment.name"
                )
    if state is not None and files.vocab.is_file() and saved_json(files.vocab) != state:
        raise RunError(f"{files.root}: the data's vocabulary differs from the saved run's; pass --fresh to start over")


def default_of(section: BaseModel, key: str) -> Any:
    """What a key a run's config.yaml lacks meant when it was trained: a key added to rnnlab since
    then starts at a default that keeps the old behaviour, so older runs still continue and answer."""
    return type(section).model_fields[key].get_default(call_default_factory=True)


def backup_exists(files: RunFiles) -> bool:
    return files.backup.is_dir() and any(files.backup.iterdir())


def check_finished(files: RunFiles, target: str | Path) -> str:
    """The id of the finished run the folder holds, every file checked against its manifest. While
    a continued training runs, the manifest of the run it continues still vouches for the model."""
    run_id = vouched_run_id(files)
    if run_id is not None:
        return run_id
    if backup_exists(files):
        raise RunError(
            f"{files.root}: training was interrupted before the first model was saved; run `rnnlab train {target}` to resume it"
        )
    if not files.model.is_file():
        raise RunError(f"{files.root}: no trained model yet; run `rnnlab train {target}` first")
    raise RunError(
        f"{files.manifest}: missing, so this run never finished writing its files (or an older rnnlab made it); "
        f"retrain with `rnnlab train {target} --fresh`"
    )


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
    check_finished(files, target)
    if not target.is_dir():
        check_same_model(files, config)
    try:
        spec = TaskSpec(**saved_json(files.task))
    except TypeError:
        raise RunError(f"{files.task}: not a task description; retrain with `rnnlab train CONFIG --fresh`") from None
    state = saved_json(files.vocab)
    return Run(config, files, spec, state)
