"""The dataset registry: every dataset by name, built in or added by an installed package.

Adding a built-in dataset is one module in this package plus one line in ``BUILT_IN``. A separate
package adds one without editing rnnlab by declaring an entry point::

    [project.entry-points."rnnlab.datasets"]
    counting = "my_package.counting:Counting"

(``docs/architecture.md`` walks through one). A built-in name cannot be taken over, and a plugin
that fails to import is left out with a warning instead of breaking every command.
"""

from __future__ import annotations

import functools
import importlib
import logging
from importlib.metadata import entry_points

from pydantic import BaseModel

from rnnlab.data.contract import Dataset

log = logging.getLogger("rnnlab")

ENTRY_POINT_GROUP = "rnnlab.datasets"

BUILT_IN: dict[str, str] = {
    "alphabet": "rnnlab.data.alphabet:Alphabet",
    "regression": "rnnlab.data.regression:Regression",
    "hello": "rnnlab.data.hello:Hello",
    "lyrics": "rnnlab.data.lyrics:Lyrics",
    "imdb": "rnnlab.data.imdb:Imdb",
    "series": "rnnlab.data.series:Series",
    "text": "rnnlab.data.labelled:Text",
    "longdep": "rnnlab.data.longdep:Longdep",
}


@functools.cache
def registered() -> dict[str, str]:
    """Name → ``module:Class`` for the built-in datasets, then the installed plugins'."""
    found = dict(BUILT_IN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in found:
            log.warning("ignoring the %s entry point %r (%s): the name is taken", ENTRY_POINT_GROUP, point.name, point.value)
            continue
        found[point.name] = point.value
    return found


def names() -> list[str]:
    return list(loaded())


@functools.cache
def loaded() -> dict[str, Dataset]:
    """Every dataset that imports cleanly, instantiated once."""
    out: dict[str, Dataset] = {}
    for name, target in registered().items():
        try:
            out[name] = instantiate(name, target)
        except Exception as exc:
            if name in BUILT_IN:
                raise
            log.warning("left out dataset %r from %s: %s: %s", name, target, type(exc).__name__, exc)
    return out


def instantiate(name: str, target: str) -> Dataset:
    module_name, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(cls, type) and issubclass(cls, Dataset)):
        raise TypeError(f"{target} is not a subclass of rnnlab.data.contract.Dataset")
    if cls.name() != name:
        raise TypeError(f"{target}: options_model.dataset defaults to {cls.name()!r}, not the registered name {name!r}")
    return cls()


def dataset(name: str) -> Dataset:
    return loaded()[name]


def option_classes() -> list[type[BaseModel]]:
    return [d.options_model for d in loaded().values()]
