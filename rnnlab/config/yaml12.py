"""Config YAML read the way a person reads it: YAML 1.2 scalars, no duplicate keys, bounded size.

PyYAML follows YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans, ``010`` is octal 8 and
``1:30`` is base-60 90, and a repeated key silently keeps the last value. Here ``true``/``false``
are the only booleans, ``010`` is ten, ``1:30`` stays text, and a repeated key, nesting deeper than
``MAX_DEPTH``, more than ``MAX_ALIASES`` aliases or a value that expands past ``MAX_NODES`` nodes
("billion laughs") is refused with the line it was found on. Everything else is ``yaml.SafeLoader``:
no tags, no Python objects.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_DEPTH = 32
MAX_ALIASES = 64
MAX_NODES = 100_000
MAX_BYTES = 1 << 20
"""A config is a page of text; anything larger is not one."""

BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class TooComplex(yaml.YAMLError):
    """Nesting, aliases or expansion beyond what a config needs."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` with YAML 1.2 core-schema scalars, duplicate keys refused, and bounds."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table, started empty: only the 1.2 resolvers below

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise TooComplex(f"more than {MAX_ALIASES} aliases", self.peek_event().start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TooComplex(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node))
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", BOOL, list("tTfF"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", INT, list("-+0123456789"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


def expanded_size(value: Any, limit: int = MAX_NODES) -> int:
    """How many nodes ``value`` has with every alias expanded, counting at most to ``limit + 1``."""
    sizes: dict[int, int] = {}

    def size(item: Any) -> int:
        if not isinstance(item, (dict, list)):
            return 1
        if id(item) in sizes:
            return sizes[id(item)]
        children = list(item.items()) if isinstance(item, dict) else item
        total = 1
        for child in children:
            total += size(child[1]) if isinstance(item, dict) else size(child)
            if total > limit:
                break
        sizes[id(item)] = min(total, limit + 1)
        return sizes[id(item)]

    return size(value)


def load(text: str) -> Any:
    """The YAML document in ``text``; ``yaml.YAMLError`` (with a mark where there is one) otherwise."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise TooComplex(f"larger than {MAX_BYTES:,} bytes, which no config needs", None)
    loader = StrictLoader(text)
    try:
        value = loader.get_single_data()
    finally:
        loader.dispose()
    if expanded_size(value) > MAX_NODES:
        raise TooComplex(f"its aliases expand to more than {MAX_NODES:,} values", None)
    return value
