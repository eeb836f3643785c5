"""Progress for the slow parts before training: downloads, archive extraction, data preparation.

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
- ``fetch(origin, fname, file_hash=..., cache_dir=..., extract_to="aclImdb")`` downloads once
  with ``keras.utils.get_file`` (Keras draws the download bar and checks the hash), then
  extracts with ``extract`` below into that folder next to the download and returns it (without
  ``extract_to``: the downloaded file). Failures become one-line ``DataError``s.
- ``with download_bar(): keras.utils.get_file(...)`` for a loader that calls ``get_file`` itself
  (to word its own errors): Keras's bar on a terminal, silent elsewhere.
- ``extract(archive, destination)`` unpacks a .tar(.gz/.bz2/.xz) or .zip with a bar per
  member, refusing paths that escape ``destination``; it unpacks into a temporary sibling and
  renames it into place, so an interrupted extraction leaves nothing that looks finished.
  An existing ``destination`` is reused as is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from rnnlab.errors import DataError

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
        yield lambda amount=1: bar.advance(handle, amount)


def track(items: Iterable[T], description: str, *, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total, quiet=quiet) as advance:
        for item in items:
            yield item
            advance(1)


def archive_members(archive: Path) -> tuple[Any, list[Any], Callable[[Any, Path], None]]:
    """The open archive, its members, and how to write one member under a folder (safely)."""
    if zipfile.is_zipfile(archive):
        opened: Any = zipfile.ZipFile(archive)
        return opened, opened.infolist(), lambda member, where: opened.extract(member, where)
    if tarfile.is_tarfile(archive):
        opened = tarfile.open(archive)
        return opened, opened.getmembers(), lambda member, where: opened.extract(member, where, filter="data")
    raise DataError(f"{archive}: not a .tar(.gz) or .zip archive; delete it so it is downloaded again")


def extract(archive: Path, destination: Path, *, quiet: bool = False) -> Path:
    archive, destination = Path(archive), Path(destination)
    if destination.is_dir():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        opened, members, write = archive_members(archive)
        with opened:
            for member in track(members, f"Extracting {archive.name}", quiet=quiet):
                write(member, staging)
        os.replace(staging, destination)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive}: cannot extract it ({exc}); delete it so it is downloaded again") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


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


def fetch(
    origin: str,
    fname: str,
    *,
    file_hash: str | None = None,
    cache_dir: str | Path | None = None,
    extract_to: str | None = None,
    quiet: bool = False,
) -> Path:
    """Download ``origin`` once (Keras's bar and hash check); extract it when ``extract_to`` names a folder."""
    from rnnlab.runtime import keras

    try:
        with download_bar(quiet=quiet):
            path = Path(keras().utils.get_file(fname, origin, file_hash=file_hash, cache_dir=cache_dir))
    except Exception as exc:  # noqa: BLE001 - get_file raises bare Exception/ValueError for network and hash failures
        raise DataError(f"cannot download {origin} ({exc}); check the network or place {fname} in the cache") from None
    return extract(path, path.parent / extract_to, quiet=quiet) if extract_to else path
