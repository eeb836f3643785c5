"""How fast the CLI answers: help and config must not pay TensorFlow's import.

Side by side, from one run: ``rnnlab --help``, ``rnnlab config``, and a bare
``import tensorflow`` (what every command would cost if the CLI imported it eagerly).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import table

PROJECT = Path(__file__).resolve().parents[1]


def wall_seconds(argv: list[str], repeats: int) -> float:
    """Median wall time of a fresh process, so import costs are counted every time."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, cwd=PROJECT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py cli")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    py = sys.executable
    contenders = {
        "rnnlab --help": [py, "-m", "rnnlab", "--help"],
        "rnnlab train --help": [py, "-m", "rnnlab", "train", "--help"],
        "rnnlab config alphabet_onehot": [py, "-m", "rnnlab", "config", "configs/alphabet_onehot.yaml"],
        "python -c 'import tensorflow'": [py, "-c", "import tensorflow"],
    }
    measured = {name: wall_seconds(cmd, args.repeats) for name, cmd in contenders.items()}
    baseline = measured["python -c 'import tensorflow'"]
    rows = [
        {"command": name, "wall s (median)": s, "vs import tensorflow": f"{baseline / s:.1f}x faster"}
        for name, s in measured.items()
    ]
    print(table(rows, ["command", "wall s (median)", "vs import tensorflow"]))
    return 0
