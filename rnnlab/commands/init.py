"""A commented starter config, rendered from the config schema itself.

Every key appears with its default and its pydantic ``Field`` description as a comment, so the
starter stays right as keys and datasets are added: nothing here names a key.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rnnlab import atomic, data
from rnnlab.config import Config, Experiment, load_target, validate
from rnnlab.config.loading import section_model
from rnnlab.errors import ConfigError

COMMENT_COLUMN = 34


def yaml_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).removesuffix("\n...\n").strip()


def choices(annotation: Any) -> list[str]:
    """The allowed values of a ``Literal`` (also inside ``X | None``)."""
    if typing.get_origin(annotation) is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return [c for arg in typing.get_args(annotation) for c in choices(arg)]


def comment_for(info: FieldInfo) -> str:
    text = info.description or ""
    allowed = choices(info.annotation)
    if len(allowed) > 1:
        text += f" (one of: {', '.join(allowed)})"
    return text


def field_lines(section: type[BaseModel], values: dict[str, Any], indent: int) -> list[tuple[str, str]]:
    """(code, comment) pairs for each key of ``section``; sub-sections nest, switched-off ones are commented out."""
    pad = " " * indent
    lines: list[tuple[str, str]] = []
    for key, info in section.model_fields.items():
        value, nested, comment = values.get(key), section_model(info.annotation), comment_for(info)
        if key == "dataset":
            lines.append((f"{pad}{key}: {yaml_scalar(value)}", f"one of: {', '.join(data.names())}"))
        elif nested is not None and isinstance(value, dict):
            lines.append((f"{pad}{key}:", comment))
            lines += field_lines(nested, value, indent + 2)
        elif nested is not None and value is None:
            lines.append((f"{pad}{key}: null", f"{comment}; to turn on, delete null and uncomment below"))
            inner = field_lines(nested, nested().model_dump(mode="json"), indent + 2)
            lines += [(f"{code[: indent + 2]}# {code[indent + 2 :]}", note) for code, note in inner]
        else:
            lines.append((f"{pad}{key}: {yaml_scalar(value)}", comment))
    return lines


def aligned(lines: list[tuple[str, str]]) -> list[str]:
    return [f"{code.ljust(COMMENT_COLUMN)}  # {note}" if note else code for code, note in lines]


def starter_config(
    name: str,
    dataset: str = "alphabet",
    layer: str | None = None,
    encoding: str | None = None,
    base: Config | None = None,
    base_source: str | None = None,
) -> str:
    """The YAML text; raises ConfigError (with the closest valid value) for a bad name or choice.
    ``base``: start from that config's values (``init --from``) instead of the dataset's starter."""
    model = {k: v for k, v in (("layer", layer), ("encoding", encoding)) if v is not None}
    if base is not None:
        raw = base.model_dump(mode="json")
        raw["experiment"].update(name=name, output_root=Experiment().output_root)
        raw["model"].update(model)
        dataset = base.data.dataset
    else:
        raw = {"experiment": {"name": name}, "data": {"dataset": dataset}, "model": model}
        starter = data.dataset(dataset).starter if dataset in data.names() else {}  # else validation says which
        for section, values in starter.items():
            raw.setdefault(section, {}).update({k: v for k, v in values.items() if k not in raw.get(section, {})})
    source = "rnnlab init"
    config = validate(raw, source=source)
    values = config.model_dump(mode="json")
    about = data.dataset(dataset).about()
    origin = f"from {base_source}" if base_source else "from the defaults"
    header = [
        f"# {name}: starter config written by `rnnlab init` {origin} — every key with its value and meaning.",
        "# Delete what you do not change; check with `rnnlab config FILE`, train with `rnnlab train FILE`.",
    ]
    body: list[str] = []
    for section in Config.model_fields:
        if section == "data" and about:
            body.append(f"# {dataset}: {about}")
        body.append(f"{section}:")
        body += aligned(field_lines(type(getattr(config, section)), values[section], 2))
    text = "\n".join(header + body) + "\n"
    if validate(yaml.safe_load(text), source=source) != config:
        raise ConfigError(f"{source}: the rendered starter does not round-trip for dataset {dataset!r}; please report it")
    return text


def write_starter(
    name: str,
    dataset: str = "alphabet",
    layer: str | None = None,
    encoding: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    from_config: str | Path | None = None,
) -> Path:
    target = Path(out) if out is not None else Path("configs") / f"{name}.yaml"
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists; pass --force to overwrite it or choose another --out")
    if target.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"--out {target}: configs are .yaml files; e.g. --out {target.with_suffix('.yaml')}")
    base = None if from_config is None else load_target(from_config)
    text = starter_config(name, dataset, layer, encoding, base, None if from_config is None else str(from_config))
    atomic.write_text(target, text)
    return target
