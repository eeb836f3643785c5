"""Reading files rnnlab did not write (downloads, archives, arrays) without trusting them.

Zip and tar entries may not escape the target folder (tar uses the ``data`` filter, zip names are
checked), ``.npz`` files load without pickle, and downloads go through ``keras.utils.get_file``
with a sha256 that is checked before the file is used. Every failure is one ``DataError`` line.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from rnnlab.errors import DataError


def checked_member(name: str, archive: Path) -> PurePosixPath:
    """An archive entry's name, refused when it is absolute or climbs out with ``..``."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataError(f"{archive}: entry {name!r} would be written outside the target folder; refusing this archive")
    return path


def extract_zip(archive: Path, target: Path) -> list[Path]:
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                checked_member(info.filename, archive)
            zf.extractall(target)
            return [target / info.filename for info in zf.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive}: not a readable zip file ({exc}); download it again") from None


def extract_tar(archive: Path, target: Path) -> list[Path]:
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                checked_member(member.name, archive)
            tf.extractall(target, filter="data")
            return [target / m.name for m in members if m.isfile()]
    except tarfile.FilterError as exc:
        raise DataError(f"{archive}: {exc}; refusing this archive") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{archive}: not a readable tar file ({exc}); download it again") from None


def read_zip_text(archive: Path) -> str:
    """The one text file inside a zip, as UTF-8, read in memory (nothing extracted)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            for name in names:
                checked_member(name, archive)
            if len(names) != 1:
                raise DataError(f"{archive}: expected exactly one text file inside, found {len(names)}: {names[:5]}")
            return zf.read(names[0]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{archive}: the file inside is not UTF-8 text (byte {exc.start})") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive}: not a readable zip file ({exc}); download it again") from None


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Arrays from a ``.npz`` without unpickling anything (object arrays are refused)."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); download it again")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        raise DataError(f"{path}: holds pickled Python objects, which rnnlab does not load ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); download it again") from None


def verified_download(url: str, sha256: str, *, name: str, cache_dir: Path | None = None) -> Path:
    """``url`` fetched once into Keras's cache and checked against ``sha256`` before use."""
    from rnnlab.runtime import keras

    try:
        path = keras().utils.get_file(
            fname=name, origin=url, file_hash=sha256, hash_algorithm="sha256",
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    except ValueError as exc:
        raise DataError(f"{url}: the download does not match its sha256 ({exc}); try again later") from None
    except Exception as exc:  # noqa: BLE001 - urllib raises many kinds; all mean "could not fetch"
        raise DataError(f"{url}: download failed ({type(exc).__name__}: {exc}); check the network or place the file by hand") from None
    return Path(path)
