"""Predict latency, end to end as a user types it: the NumPy engine vs the Keras model.

``python bench/run.py predict [--repeats 5] [--lyrics-epochs 1]``

For each task a small run is trained once in a scratch folder (predict's cost does not depend on
how well the model learned, only on its sizes; the lyrics run has the lesson's sizes:
one-hot SimpleRNN(256) over the corpus's 1,027 characters). Then ``rnnlab predict`` is timed as a
fresh process, median of ``--repeats``:

- numpy: the run as trained (``weights.npz`` present): answered without importing TensorFlow;
- keras: the same run folder without ``weights.npz``: loads ``model.keras`` through TensorFlow.

Targets (issue 8): alphabet ≤ 0.5 s, lyrics ``--prefix 分开 --length 50`` ≤ 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import shared_file, table

PROJECT = Path(__file__).resolve().parents[1]

TASKS = {
    "alphabet": ("alphabet_onehot", ["--prefix", "c"], []),
    "hello": ("hello_rnn", ["--prefix", "hello"], []),
    "regression": ("regression_rnn", ["--prefix", "1,2;2,3;3,4"], ["training.epochs=5"]),
    "lyrics": ("lyrics_rnn", ["--prefix", "分开", "--length", "50"], []),
}


def rnnlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], cwd=cwd, capture_output=True, text=True, check=True)


def median_wall(args: list[str], cwd: Path, repeats: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        out = rnnlab(*args, cwd=cwd).stdout.strip()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def train_run(config: str, overrides: list[str], cwd: Path) -> Path:
    sets = [f"--set={o}" for o in [f"experiment.output_root={cwd / 'checkpoints'}", *overrides]]
    rnnlab("train", str(PROJECT / "configs" / f"{config}.yaml"), *sets, cwd=cwd)
    return cwd / "checkpoints" / config


def without_numpy_weights(run: Path) -> Path:
    copy = run.parent / f"{run.name}_keras_only"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("weights.npz"))
    return copy


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py predict")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lyrics-epochs", type=int, default=1)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated subset of " + ",".join(TASKS))
    args = parser.parse_args(argv)
    corpus = shared_file("jaychou_lyrics.txt.zip")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch)
        for task in args.tasks.split(","):
            config, predict_args, overrides = TASKS[task]
            if task == "lyrics":
                if corpus is None:
                    print("lyrics: skipped (../shared/data/jaychou_lyrics.txt.zip absent)", file=sys.stderr)
                    continue
                overrides = [f"data.path={corpus}", f"training.epochs={args.lyrics_epochs}"]
            run = train_run(config, overrides, cwd)
            numpy_s, answer = median_wall(["predict", str(run), *predict_args], cwd, args.repeats)
            keras_s, keras_answer = median_wall(["predict", str(without_numpy_weights(run)), *predict_args], cwd, args.repeats)
            rows.append(
                {
                    "task": task,
                    "numpy s": numpy_s,
                    "keras s": keras_s,
                    "keras/numpy": f"{keras_s / numpy_s:.1f}x",
                    "same answer": "yes" if answer == keras_answer else "NO",
                    "answer": answer.splitlines()[0][:40],
                }
            )
    print(table(rows, ["task", "numpy s", "keras s", "keras/numpy", "same answer", "answer"]))
    return 0
