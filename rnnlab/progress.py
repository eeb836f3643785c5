"""Progress for the slow parts before training: downloads, archive reading, data preparation.

A silent terminal for a minute looks like a hang, so dataset loaders report progress through
these helpers. Bars go to stderr (stdout stays clean for ``--json`` and pipes) and only on a
terminal: in logs, CI and tests nothing is drawn. ``quiet=True`` or ``RNNLAB_QUIET=1`` silences
them everywhere.

API (all keyword arguments optional):

- ``track(items, "Tokenizing reviews", total=None, quiet=False)`` yields ``items`` unchanged
  while drawing a bar (``total`` defaults to ``len(items)`` when it has one)::

      ids = [encode(text) for text in track(texts, "Tokenizing reviews")]

- ``with task("Reading corpus", total=n_bytes) as advance: ... advance(len(chunk))`` for
  work that is not a simple loop; ``total=None`` draws a spinner with a running count.
- ``with download_bar(): keras.utils.get_file(...)``: Keras's own download bar on a terminal,
  silent elsewhere (``rnnlab.fetch.download`` is the one caller).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

QUIET_ENV = "RNNLAB_QUIET"

T = TypeVar("T")


def shown(quiet: bool = False) -> bool:
    """Bars only for a person watching a terminal."""
    return not quiet and os.environ.get(QUIET_ENV, "") in ("", "0") and sys.stderr.isatty()


@contextlib.contextmanager
def task(description: str, total: float | None = None, *, quiet: bool = False) -> Iterator[Callable[[float], None]]:
    """A bar (or a spinner when ``total`` is None); the block calls ``advance(amount)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=not shown(quiet), transient=False) as bar:
        handle = bar.add_task(description, total=total)

        def advance(amount: float = 1) -> None:
            bar.advance(handle, amount)

        yield advance


def track(items: Iterable[T], description: str, *, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total, quiet=quiet) as advance:
        for item in items:
            yield item
            advance(1)


@contextlib.contextmanager
def download_bar(*, quiet: bool = False) -> Iterator[None]:
    """Around ``keras.utils.get_file``: Keras's own download bar on a terminal, nothing in pipes
    (Keras would otherwise write it to stdout wherever that goes)."""
    from rnnlab.runtime import keras

    k = keras()
    logging_was_on = k.config.is_interactive_logging_enabled()
    if not shown(quiet):
        k.config.disable_interactive_logging()
    try:
        yield
    finally:
        if logging_was_on:
            k.config.enable_interactive_logging()
