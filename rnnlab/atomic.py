"""Atomic writes: a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rnnlab.errors import RunError


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` (same suffix, so Keras accepts it) and rename it
    over ``target`` only if the block succeeds. A failed write (disk full, no permission) becomes
    one ``RunError`` line; the previous ``target``, if any, is left as it was."""
    target = Path(target)
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        suffix = "".join(target.suffixes) or ".tmp"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name.split('.')[0]}-", suffix=suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except OSError as exc:
        raise RunError(
            f"{target}: cannot write it ({exc.strerror or exc}); free some disk space or choose a writable "
            "experiment.output_root, then run the command again (the previous file is unchanged)"
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_text(data: Any, indent: int | None = None) -> str:
    """Strict JSON (RFC 8259): a NaN or infinite number becomes ``null``, since ``NaN`` and
    ``Infinity`` are not JSON and break every other reader."""
    return json.dumps(finite(data), indent=indent, ensure_ascii=False, allow_nan=False)


def finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    return data


def write_json(target: Path, data: Any) -> None:
    write_text(target, json_text(data, indent=2) + "\n")


def write_with(target: Path, writer: Callable[[Path], object]) -> None:
    """Let ``writer`` (e.g. ``model.save``) fill a temporary file, then move it into place."""
    with atomic_path(target) as tmp:
        tmp.unlink()
        writer(tmp)
