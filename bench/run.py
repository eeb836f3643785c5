"""Benchmarks: ``python bench/run.py TOPIC [options]``, each printing a side-by-side table from one run.

Each topic lives in ``bench/<topic>.py`` and exposes ``main(argv: list[str]) -> int``.
Real data is read from ``$RNNLAB_SHARED_DATA`` (default ``../shared/data``) when present; otherwise data of the same shape is generated.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOPICS = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ("run", "common") and not p.stem.startswith("_"))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TOPICS:
        print(f"usage: python bench/run.py {{{'|'.join(TOPICS)}}} [options]", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    return importlib.import_module(argv[0]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
