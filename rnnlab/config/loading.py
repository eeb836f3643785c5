"""YAML (plus ``--set`` overrides) → one validated ``Config``.

Every problem becomes a single ``ConfigError`` line naming the file (or the override), the
dotted key and the fix, with the closest valid key or value suggested.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from rnnlab import fetch
from rnnlab.config import yaml12
from rnnlab.config.schema import Config, Experiment
from rnnlab.data import names, option_classes
from rnnlab.errors import ConfigError


def parse_override(expression: str) -> tuple[list[str], Any]:
    """``training.epochs=5`` → (["training", "epochs"], 5), the value typed as YAML."""
    key, sep, raw = expression.partition("=")
    path = key.strip().split(".")
    if not sep or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in path):
        raise ConfigError(f"--set {expression!r}: expected KEY=VALUE with a dotted key, e.g. --set training.epochs=5")
    try:
        value = yaml12.load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {expression!r}: value is not valid YAML ({_yaml_problem(exc)}); quote it") from exc
    return path, value


def apply_override(raw: dict[str, Any], path: list[str], value: Any, expression: str) -> None:
    """Set one key. A mapping for a section the file already fills is refused: it would silently
    reset every key the file sets there."""
    node = raw
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if child is None or child is False:
            child = node[part] = {}
        if not isinstance(child, dict):
            dotted = ".".join(path[: depth + 1])
            raise ConfigError(f"--set {expression!r}: {dotted} is a value, not a section; set {dotted}=... instead")
        node = child
    before = node.get(path[-1])
    if isinstance(value, dict) and isinstance(before, dict) and before:
        dotted = ".".join(path)
        raise ConfigError(
            f"--set {expression!r}: would replace the whole {dotted} section the config sets "
            f"({', '.join(map(str, before))}); set its keys one at a time, e.g. --set {dotted}.KEY=VALUE"
        )
    node[path[-1]] = value


def read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file; pass a .yaml file, e.g. configs/alphabet_onehot.yaml")
    if not path.exists():
        hint = "" if path.suffix in (".yaml", ".yml") else " (configs are .yaml files, e.g. configs/alphabet_onehot.yaml)"
        raise ConfigError(f"{path}: config file not found{hint}")
    raw_bytes = fetch.regular_file_bytes(path, limit=yaml12.MAX_BYTES, what="config file", error=ConfigError)
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    try:
        raw = yaml12.load(text)
    except yaml12.TooComplex as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}; a config is a few plain sections, simplify it") from None
    except yaml.constructor.ConstructorError as exc:
        if "duplicate key" in str(exc.problem):
            raise ConfigError(f"{path}: {_yaml_problem(exc)}; keep one of them") from None
        raise ConfigError(f"{path}: {_yaml_problem(exc)}; configs are plain YAML data, remove the tag") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error {_yaml_problem(exc)}; fix the indentation or quoting there") from exc
    if raw is None:
        raise ConfigError(f"{path}: file is empty; start from `rnnlab config configs/alphabet_onehot.yaml`")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (experiment, data, model, training), got {type(raw).__name__}")
    return raw


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    path = Path(path)
    raw = read_yaml(path)
    overridden: dict[tuple[str, ...], str] = {}
    for expression in overrides:
        keys, value = parse_override(expression)
        apply_override(raw, keys, value, expression)
        overridden[tuple(keys)] = expression
    return validate(raw, source=str(path), default_name=path.stem, overridden=overridden)


def load_target(target: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """A config file, or a run folder's ``config.yaml`` placed back at that folder (its
    ``output_root`` and ``name`` are where the folder is now, wherever it was trained)."""
    target = Path(target)
    if not target.is_dir():
        return load_config(target, overrides)
    saved = target / "config.yaml"
    if not saved.is_file():
        raise ConfigError(
            f"{target}: is a folder, not a config file, and not a run folder (no config.yaml); "
            "pass a .yaml file, e.g. configs/alphabet_onehot.yaml, or a run folder such as checkpoints/<name>"
        )
    config = load_config(saved, overrides)
    config.experiment.output_root = str(target.parent)
    config.experiment.name = target.name
    return config


def validate(
    raw: dict[str, Any], *, source: str, default_name: str | None = None, overridden: dict[tuple[str, ...], str] | None = None
) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, raw, source, overridden or {})) from None
    if config.experiment.name is None and default_name is not None:
        try:
            config.experiment.name = Experiment._safe_name(default_name)
        except ValueError:
            raise ConfigError(
                f"{source}: file name {default_name!r} is not a valid run name; set experiment.name, e.g. 'my_run'"
            ) from None
    return config


def dump_config(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {problem}".strip(": ")


def _dotted(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """Drop pydantic's union tags (``data.alphabet.window`` → ``data.window``)."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "data" and parts[1] in names():
        del parts[1]
    return tuple(parts)


def _section_class(raw: dict[str, Any], keys: tuple[str, ...]) -> type[BaseModel] | None:
    cls: type[BaseModel] | None = Config
    for key in keys:
        if cls is None or key not in cls.model_fields:
            return None
        if cls is Config and key == "data":
            name = (raw.get("data") or {}).get("dataset") if isinstance(raw.get("data"), dict) else None
            cls = next((c for c in option_classes() if c.model_fields["dataset"].default == name), None)
            continue
        cls = section_model(cls.model_fields[key].annotation)
    return cls


def section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return next((m for m in map(section_model, typing.get_args(annotation)) if m), None)
    return None


def _closest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"did you mean {match[0]!r}?" if match else f"valid: {', '.join(choices)}"


def describe_error(exc: ValidationError, raw: dict[str, Any], source: str, overridden: dict[tuple[str, ...], str]) -> str:
    error = exc.errors()[0]
    keys = _dotted(error["loc"])
    dotted = ".".join(keys) or "(top level)"
    culprit = next((expr for k, expr in overridden.items() if k[: len(keys)] == keys), None)
    where = f"--set {culprit!r}" if culprit else source
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        section = _section_class(raw, keys[:-1])
        valid = sorted(section.model_fields) if section else []
        return f"{where}: unknown key {dotted!r}; {_closest(keys[-1], valid)}"
    if kind == "missing" and keys == ("data",):
        return f"{where}: missing section 'data'; add e.g. `data: {{dataset: alphabet}}` (datasets: {', '.join(names())})"
    if kind in ("union_tag_not_found", "missing") and keys[:1] == ("data",) and len(keys) <= 2:
        return f"{where}: data.dataset is required; one of {', '.join(names())}"
    if kind == "union_tag_invalid":
        tag = str(error.get("ctx", {}).get("tag", value))
        return f"{where}: data.dataset: unknown dataset {tag!r}; {_closest(tag, names())}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        return f"{where}: {dotted}: {value!r} is not allowed; {_closest(str(value), expected)}"
    if kind == "model_type" or kind == "dict_type":
        return f"{where}: {dotted} must be a section (a mapping of keys), got {value!r}"
    message = error["msg"].removeprefix("Value error, ")
    shown = "" if kind.startswith("value_error") or isinstance(value, dict) else f" (got {value!r})"
    return f"{where}: {dotted}: {message[0].lower() + message[1:]}{shown}"
