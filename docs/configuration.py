"""The config reference, generated from the schema: ``python docs/configuration.py [--check]``.

docs/configuration.md is a short hand-written intro, the marker line ``MARKER``, then one table
per config section rendered here from ``rnnlab.config.Config``: every key, its type, default and
the ``Field`` description. Generating it means a key added to the schema cannot be missing from
the docs, and ``--check`` (exit 1 when the page is stale) lets a test or CI say so.

Only ``rnnlab.config.Config`` is imported: the dataset option classes are found through the
annotation of ``Config.model_fields["data"]``, so the page does not depend on where the dataset
modules live.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))  # this checkout's rnnlab, not whichever one is installed

PAGE = PROJECT / "docs" / "configuration.md"
MARKER = "<!-- generated: python docs/configuration.py -->"
UNIONS = (typing.Union, types.UnionType)
BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def schema() -> type[BaseModel]:
    """``rnnlab.config.Config``, imported here so that the path above is in place first."""
    from rnnlab.config import Config

    return Config


def dataset_classes() -> list[type[BaseModel]]:
    """The option class of every dataset, unwrapped from ``Annotated[Union[...], Field(discriminator=...)]``."""
    annotation: Any = schema().model_fields["data"].annotation
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = typing.get_args(annotation) if typing.get_origin(annotation) in UNIONS else (annotation,)
    return [member for member in members if isinstance(member, type) and issubclass(member, BaseModel)]


def dataset_name(options: type[BaseModel]) -> str:
    """The ``dataset: Literal["name"]`` tag that selects this option class."""
    return str(typing.get_args(options.model_fields["dataset"].annotation)[0])


def section_in(annotation: Any) -> type[BaseModel] | None:
    """The nested section class of a field (``EarlyStopping | None`` → ``EarlyStopping``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in UNIONS:
        return next((found for found in map(section_in, typing.get_args(annotation)) if found), None)
    return None


def type_text(annotation: Any) -> str:
    """A reader's name for a type: Literal choices spelled out, ``None`` as YAML's ``null``."""
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return "`null`"
    if origin is typing.Literal:
        return " or ".join(f"`{choice}`" for choice in typing.get_args(annotation))
    if origin in UNIONS:
        return " or ".join(type_text(member) for member in typing.get_args(annotation))
    if origin is list:
        return f"list of {type_text(typing.get_args(annotation)[0])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def bounds_text(field: FieldInfo) -> str:
    """The field's numeric range (``ge=1`` → ``≥ 1``), which the validator enforces."""
    rules = [(symbol, getattr(rule, name)) for rule in field.metadata for name, symbol in BOUNDS.items() if hasattr(rule, name)]
    bounds = [f"{symbol} {value}" for symbol, value in rules]
    return f" ({', '.join(bounds)})" if bounds else ""


def yaml_text(value: Any) -> str:
    """A default as it would be written in a config: ``null``, ``true``, ``{monitor: auto}``."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).removesuffix("\n").removesuffix("\n...")


def default_text(field: FieldInfo) -> str:
    """What a key is when the config leaves it out; a section's default is built to show its keys."""
    if field.default_factory is not None:
        return f"`{yaml_text(field.default_factory())}`"  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "required"
    return f"`{yaml_text(field.default)}`"


def cell(text: str) -> str:
    """Text safe inside a table cell: a bare ``|`` would split the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def table(prefix: str, section: type[BaseModel], skip: tuple[str, ...] = ()) -> tuple[str, list[tuple[str, type[BaseModel]]]]:
    """One ``| key | type | default | meaning |`` table, plus the nested sections it points to."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for key, field in section.model_fields.items():
        if key in skip:
            continue
        dotted = f"{prefix}.{key}"
        kind = type_text(field.annotation) + bounds_text(field)
        rows.append(f"| `{dotted}` | {cell(kind)} | {cell(default_text(field))} | {cell(field.description or '')} |")
        inner = section_in(field.annotation)
        if inner is not None:
            nested.append((dotted, inner))
    return "\n".join(rows) + "\n", nested


def section_markdown(prefix: str, section: type[BaseModel], level: int = 2) -> str:
    """A section's heading and table, followed by one sub-heading and table per nested section."""
    text, nested = table(prefix, section)
    parts = [f"{'#' * level} `{prefix}`\n\n{text}"]
    for dotted, inner in nested:
        parts.append(section_markdown(dotted, inner, level + 1))
    return "\n".join(parts)


def data_markdown() -> str:
    """The ``data`` section: which datasets ``data.dataset`` selects, then each one's keys."""
    classes = dataset_classes()
    names = ", ".join(f"`{dataset_name(options)}`" for options in classes)
    parts = [f"## `data`\n\n`data.dataset` (required) picks the dataset, one of {names}; the other `data` keys belong to it.\n"]
    for options in classes:
        name = dataset_name(options)
        text, _ = table("data", options, skip=("dataset",))
        parts.append(f"### `dataset: {name}`\n\nSee [datasets](datasets.md#{name}).\n\n{text}")
    return "\n".join(parts)


def reference_markdown() -> str:
    """Everything below the marker in docs/configuration.md, in the schema's section order."""
    parts = []
    for key, field in schema().model_fields.items():
        if key == "data":
            parts.append(data_markdown())
            continue
        section = section_in(field.annotation)
        if section is not None:
            parts.append(section_markdown(key, section))
    return "\n".join(parts)


def page_with(text: str, reference: str) -> str:
    """``text`` with everything after the marker line replaced by ``reference``."""
    if MARKER not in text:
        raise SystemExit(f"{PAGE}: no marker line {MARKER!r} to write below")
    return text.split(MARKER, 1)[0] + MARKER + "\n\n" + reference


def main(argv: list[str]) -> int:
    """Rewrite the page below the marker, or with ``--check`` only say (exit 1) that it would change."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/configuration.md is stale; write nothing")
    args = parser.parse_args(argv)
    current = PAGE.read_text(encoding="utf-8")
    wanted = page_with(current, reference_markdown())
    if args.check:
        if current != wanted:
            print(f"{PAGE.relative_to(PROJECT)} is stale: run python docs/configuration.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
