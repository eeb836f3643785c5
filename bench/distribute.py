"""Per-epoch time: one process vs two ``multi_worker`` processes on this machine (loopback).

    python bench/run.py distribute [--epochs N]

Trains the same config (the alphabet window-4 task, batch 5: one step per epoch) three ways, each
in fresh processes: ``none``, ``mirrored`` over 2 logical CPUs, and 2 workers on 127.0.0.1; reads
``seconds_per_epoch`` from each run's metrics.json (the chief's for multi_worker).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from common import table

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "alphabet4_embedding.yaml"


def rnnlab(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rnnlab", "train", str(CONFIG), *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip


def seconds_per_epoch(folder: Path) -> float:
    return json.loads((folder / "checkpoints" / "alphabet4_embedding" / "metrics.json").read_text())["seconds_per_epoch"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py distribute")
    parser.add_argument("--epochs", type=int, default=200)
    options = parser.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    common = ["--set", f"training.epochs={options.epochs}", "--set", "experiment.output_root=checkpoints"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in [("none", []), ("mirrored, 2 logical CPUs", ["--set", "training.distribute=mirrored",
                                                                          "--set", "training.devices=2"])]:  # fmt: skip
            folder = Path(tmp) / name.split(",")[0]
            folder.mkdir()
            proc = rnnlab(common + extra, folder, env)
            if proc.wait() != 0:
                print(proc.stderr.read() if proc.stderr else "", file=sys.stderr)
                return 1
            rows.append({"setup": name, "s/epoch": seconds_per_epoch(folder)})
        ports = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        workers = ",".join(f"127.0.0.1:{p}" for p in ports)
        procs = []
        for index in range(2):
            folder = Path(tmp) / f"worker{index}"
            folder.mkdir()
            args = common + ["--set", "training.distribute=multi_worker", "--workers", workers, "--worker-index", str(index)]
            procs.append(rnnlab(args, folder, env))
        if any(p.wait() != 0 for p in procs):
            return 1
        rows.append({"setup": "multi_worker, 2 processes on 127.0.0.1", "s/epoch": seconds_per_epoch(Path(tmp) / "worker0")})
    base = rows[0]["s/epoch"]
    for row in rows:
        row["× none"] = row["s/epoch"] / base
    print(f"{CONFIG.name}, {options.epochs} epochs, one step each, {os.cpu_count()} CPU cores")
    print(table(rows, ["setup", "s/epoch", "× none"]))
    return 0
