"""The dataset registry: adding a dataset is one module here plus one line below."""

from __future__ import annotations

import importlib
from types import ModuleType

from pydantic import BaseModel

DATASETS: dict[str, str] = {
    "alphabet": "rnnlab.datasets.alphabet",
    "regression": "rnnlab.datasets.regression",
    "hello": "rnnlab.datasets.hello",
    "lyrics": "rnnlab.datasets.lyrics",
    "imdb": "rnnlab.datasets.imdb",
}


def module(name: str) -> ModuleType:
    return importlib.import_module(DATASETS[name])


def option_classes() -> list[type[BaseModel]]:
    return [module(name).Options for name in DATASETS]
