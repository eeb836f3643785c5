"""Every file rnnlab did not write, fetched and opened one way.

- Downloads go through ``keras.utils.get_file`` (Keras's cache, its download bar on a terminal) with
  a pinned hash checked before the file is used; offline, the one-line error names the cache file
  and the config key that points at a local copy instead.
- Archive members (zip, tar, npz) are read in memory, never extracted: a name that is absolute or
  climbs out with ``..`` refuses the whole archive, and no member may inflate past
  ``MAX_MEMBER_BYTES``.
- ``.npz`` arrays load without pickle; the one exception, the object arrays of word-id lists in
  Keras's ``imdb.npz``, goes through an unpickler that admits NumPy arrays and nothing else.

Every failure is one ``DataError`` line.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import numpy as np

from rnnlab import progress
from rnnlab.errors import DataError, RnnlabError

MAX_MEMBER_BYTES = 1 << 30
"""Largest archive member or data file rnnlab reads (1 GiB): a corpus or review set, never a zip bomb."""
MAX_RATIO = 200
"""Largest inflation of a zip member over 1 MiB: text packs 3-10 times, a bomb thousands of times."""


def regular_file(
    path: Path, *, limit: int = MAX_MEMBER_BYTES, what: str = "file", error: type[RnnlabError] = DataError, shown: str = ""
) -> int:
    """The size of a file the user named, refused unless it is a regular file (a FIFO or ``/dev/zero``
    would block or never end) of at most ``limit`` bytes. ``shown``: how the message names it (default: the path)."""
    shown = shown or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{shown}: {what} not found; check the path") from None
    except OSError as exc:
        raise error(f"{shown}: cannot read the {what} ({exc.strerror or exc}); check the path and its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{shown}: is a folder; give the {what} itself")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{shown}: not a regular file (a pipe, device or socket); save the {what} to a file and give its path")
    if info.st_size > limit:
        raise error(f"{shown}: the {what} is {info.st_size:,} bytes, over rnnlab's limit of {limit:,}; give a smaller file")
    return info.st_size


def regular_file_bytes(
    path: Path, *, limit: int = MAX_MEMBER_BYTES, what: str = "file", error: type[RnnlabError] = DataError, shown: str = ""
) -> bytes:
    """A file the user named, read whole, after ``regular_file``'s checks."""
    regular_file(path, limit=limit, what=what, error=error, shown=shown)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"{shown or path}: cannot read the {what} ({exc.strerror or exc}); check its permissions") from None
    if len(data) > limit:
        raise error(
            f"{shown or path}: the {what} grew past rnnlab's limit of {limit:,} bytes while being read; give a smaller file"
        )
    return data


def keras_cache_file(name: str) -> Path:
    """Where ``get_file`` keeps ``name`` (``$KERAS_HOME/datasets``, else ``~/.keras/datasets``)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / name


def download(name: str, url: str, file_hash: str, *, offline_fix: str, cache_dir: Path | None = None) -> Path:
    """``name`` from Keras's cache, or fetched from ``url`` once and checked against ``file_hash``
    (sha256, or md5 where the publisher pins only that). ``offline_fix`` ends the error line: how to
    use a local copy instead."""
    from rnnlab.runtime import keras

    try:
        with progress.download_bar():
            path = keras().utils.get_file(name, origin=url, file_hash=file_hash, cache_dir=str(cache_dir) if cache_dir else None)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = Path(cache_dir) / "datasets" / name if cache_dir else keras_cache_file(name)
        if "hash" in reason.lower():
            reason = f"the download does not match its pinned hash: {reason}"
        raise DataError(f"{name} is not cached at {where} and fetching {url} failed ({reason}); {offline_fix}") from None
    return Path(path)


def checked_member(name: str, archive: Path) -> PurePosixPath:
    """An archive member's name, refused when it is absolute or climbs out with ``..``."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataError(
            f"{archive}: member {name!r} points outside the archive's folder; refused, nothing was read "
            "(re-create the archive from its folder)"
        )
    return path


def bounded(size: int, name: str, archive: Path, packed: int | None = None) -> None:
    if packed is not None and size > 1 << 20 and size > MAX_RATIO * max(packed, 1):
        raise DataError(
            f"{archive}: member {name!r} inflates {size // max(packed, 1):,} times ({packed:,} → {size:,} bytes), "
            f"over rnnlab's limit of {MAX_RATIO}; refused as a zip bomb, repack the file"
        )
    if size > MAX_MEMBER_BYTES:
        raise DataError(
            f"{archive}: member {name!r} inflates to {size:,} bytes, over rnnlab's limit of {MAX_MEMBER_BYTES:,}; "
            "give a smaller file"
        )


def zip_members(archive: Path, *, what: str = "zip archive") -> dict[str, bytes]:
    """Every file in a zip (folders and ``__MACOSX/`` left out), by name, checked and size-bounded."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            for info in infos:
                checked_member(info.filename, archive)
                bounded(info.file_size, info.filename, archive, info.compress_size)
            return {info.filename: zf.read(info) for info in infos}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{archive}: not a readable {what} ({exc}); download it again or repack it") from None


def single_member(archive: Path) -> bytes:
    """The bytes of the one file inside a zip (the lesson's corpus zip)."""
    members = zip_members(archive)
    if len(members) != 1:
        found = ", ".join(list(members)[:5]) if members else "no files"
        raise DataError(f"{archive}: the zip must hold exactly one text file, found {len(members)} ({found}); repack it")
    return next(iter(members.values()))


def plain_or_single_member(path: Path, *, fix: str) -> bytes:
    """A plain file's bytes, or those of the single file inside a zip; ``fix`` ends the error for a
    ``.zip`` that is not one."""
    regular_file(path)
    if zipfile.is_zipfile(path):
        return single_member(path)
    if path.suffix.lower() == ".zip":
        raise DataError(f"{path}: not a valid zip archive; {fix}")
    return regular_file_bytes(path)


def tar_members(archive: Path, wanted: Callable[[PurePosixPath], bool], label: str) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of the regular members ``wanted`` picks, streamed in archive order with a
    progress bar. A member that escapes refuses the archive as a whole."""
    try:
        with tarfile.open(archive, "r|*") as tar, progress.task(label) as advance:
            for member in tar:
                advance(1)
                path = checked_member(member.name, archive)
                if not member.isfile() or not wanted(path):
                    continue
                bounded(member.size, member.name, archive)
                handle = tar.extractfile(member)
                yield member.name, handle.read() if handle else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{archive}: not a readable .tar.gz ({exc}); give the folder or its tarball") from None


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Arrays from a ``.npz`` without unpickling anything (object arrays are refused)."""
    regular_file(path, what=".npz file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); save it with numpy.savez")
    for name, raw in zip_members(path, what=".npz file").items():
        bounded(len(raw), name, path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        raise DataError(f"{path}: holds pickled Python objects, which rnnlab does not load ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); save it with numpy.savez") from None


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what an object array of NumPy arrays needs; nothing can run code."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def npy_array(raw: bytes) -> Any:
    """One ``.npy`` member: plain arrays without pickle, object arrays only of NumPy arrays or lists."""
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    header = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
    _, _, dtype = header(fp)
    if dtype != object:  # noqa: E721 - a NumPy dtype compares equal to the type it stands for
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    return _ArrayUnpickler(fp).load()
