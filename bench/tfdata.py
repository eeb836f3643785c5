"""The end-of-pass stall of autotuned ``tf.data`` iterators (see ``rnnlab/train/pipeline.py``).

``python bench/run.py tfdata [--lives 1.5,3,6,12] [--epochs 6]``

1. Deleting an iterator that has run for a few seconds: Keras's way for arrays (a ``map`` and an
   ``AUTOTUNE`` prefetch, so a tuning thread) vs rnnlab's ``untuned`` stream of the same batches.
2. ``fit`` of the IMDB lesson's model on the same arrays for the same epochs: Keras's own array
   pipeline vs rnnlab's ``epoch_batches`` stream. Seconds per epoch with the CPU seconds beside
   them: an epoch that took longer without using more CPU waited.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import epoch_clock, table

WAYS = ("keras", "rnnlab")


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py tfdata", description=__doc__.splitlines()[0])
    parser.add_argument("--lives", default="1.5,3,6,12", help="seconds each iterator runs before it is deleted")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of each fit")
    parser.add_argument("--fit-one", choices=WAYS, help=argparse.SUPPRESS)  # internal: one fit in this process
    return parser.parse_args(argv)


def stream(tf: Any, tuned: bool) -> Any:
    from rnnlab.train.pipeline import untuned

    rows = tf.data.Dataset.range(10**9).map(lambda i: tf.zeros([64, 100]) + tf.cast(i, tf.float32))
    return rows.prefetch(tf.data.AUTOTUNE) if tuned else untuned(rows)


def deletion_seconds(tf: Any, tuned: bool, life: float) -> float:
    iterator = iter(stream(tf, tuned))
    started = time.perf_counter()
    while time.perf_counter() - started < life:
        next(iterator)
    started = time.perf_counter()
    del iterator
    return time.perf_counter() - started


def fit_epochs(rnnlab_stream: bool, epochs: int) -> dict[str, Any]:
    from imdb import lesson_model

    from rnnlab.runtime import keras
    from rnnlab.train.pipeline import epoch_batches

    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 10000, size=(2048, 500)).astype("int32"), rng.integers(0, 2, size=2048).astype("float32")
    keras().utils.set_random_seed(0)
    model = lesson_model(x.shape[1])
    walls: list[float] = []
    cpus: list[float] = []
    clock = [epoch_clock(walls, cpus)]
    if rnnlab_stream:
        batches = epoch_batches(x, y, batch_size=64, epochs=range(epochs), shuffle_seed=0, one_iterator=False)
        model.fit(batches, epochs=epochs, callbacks=clock, verbose=0)
    else:
        model.fit(x, y, batch_size=64, epochs=epochs, callbacks=clock, verbose=0)
    steady, steady_cpu = walls[1:], cpus[1:]
    return {
        "s/epoch": float(np.mean(steady)),
        "best epoch s": min(steady),
        "CPU s/epoch": float(np.mean(steady_cpu)),
        "walls": walls,
        "cpus": cpus,
    }


def fit_in_own_process(way: str, epochs: int) -> dict[str, Any]:
    """One fit in a fresh process, so that neither inherits the other's threads or memory."""
    command = [sys.executable, str(Path(__file__).with_name("run.py")), "tfdata", "--fit-one", way, "--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    args = arguments(argv)
    if args.fit_one:
        print(json.dumps(fit_epochs(args.fit_one == "rnnlab", args.epochs)))
        return 0
    from rnnlab.runtime import tensorflow

    tf = tensorflow()
    lives = [float(s) for s in args.lives.split(",")]
    deleting = []
    for way, tuned in (("autotuned (Keras arrays)", True), ("untuned (rnnlab)", False)):
        stalls = {f"{life:g} s old": deletion_seconds(tf, tuned, life) for life in lives}
        deleting.append(
            {"iterator": way, **stalls, "total": sum(stalls.values()), "share of run time": sum(stalls.values()) / sum(lives)}
        )
    print("Seconds to delete an iterator after it ran for ... (the stall depends on where the tuning thread is in its sleep)")
    print(table(deleting, ["iterator", *(f"{life:g} s old" for life in lives), "total", "share of run time"]))
    print()
    fits = {
        label: fit_in_own_process(way, args.epochs) for label, way in (("Keras arrays", "keras"), ("rnnlab stream", "rnnlab"))
    }
    rows = [{"fit": way, **r} for way, r in fits.items()]
    keras_way, ours = fits["Keras arrays"], fits["rnnlab stream"]
    rows.append(
        {"fit": "ratio Keras / rnnlab", **{c: keras_way[c] / ours[c] for c in ("s/epoch", "best epoch s", "CPU s/epoch")}}
    )
    print(f"fit, the IMDB lesson's model on 2,048 random reviews of 500 ids, {args.epochs} epochs (first left out)")
    print(table(rows, ["fit", "s/epoch", "best epoch s", "CPU s/epoch"]))
    for way, r in fits.items():
        print(f"{way} epochs, seconds (CPU seconds): " + "; ".join(f"{w:.2f} ({c:.2f})" for w, c in zip(r["walls"], r["cpus"])))
    return 0
