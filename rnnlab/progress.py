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
- ``with readers_may_leave(): ...``: a block whose output nobody has to read. When the reader of
  stdout or stderr goes away (``| head -1`` closed the pipe, the terminal hung up) the next write
  fails; inside the block that stream is quietly pointed at ``/dev/null`` instead, so a long job
  (``train``) is never ended by its own progress lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

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


class ReaderProof:
    """A text stream (``sys.stdout``, ``sys.stderr``) whose writes never fail for want of a reader.

    Python ignores SIGPIPE, so writing to a pipe whose reader has exited raises ``BrokenPipeError``
    (a hung-up terminal: ``OSError`` EIO) wherever the write or its flush happens: in Keras's
    progress bar, a logging handler, a ``typer.echo``, or at exit. Here the first such error points
    the stream's descriptor at ``/dev/null``, so that write, the buffered rest and every later write
    (through this object or the original) succeed, unread."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError:
            self.discard()
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError:
            self.discard()

    def discard(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def readers_may_leave() -> Iterator[None]:
    """``sys.stdout``, ``sys.stderr`` and the logging handlers writing to them become ``ReaderProof``
    for the block; the originals come back after it (pointed at ``/dev/null`` if their reader left)."""
    originals = {"stdout": sys.stdout, "stderr": sys.stderr}
    proof = {name: ReaderProof(stream) for name, stream in originals.items() if stream is not None}
    by_stream = {id(p.stream): p for p in proof.values()}
    handlers = {
        handler: handler.stream
        for logger in (logging.getLogger(), logging.getLogger("rnnlab"))
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and id(handler.stream) in by_stream
    }
    for name, guarded in proof.items():
        setattr(sys, name, guarded)
    for handler, stream in handlers.items():
        handler.stream = by_stream[id(stream)]
    try:
        yield
    finally:
        for handler, stream in handlers.items():
            handler.stream = stream
        for name, original in originals.items():
            setattr(sys, name, original)
