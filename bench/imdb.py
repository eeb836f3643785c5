"""IMDB: the lesson's way (every review padded to 500, plain ``fit``) vs rnnlab's length buckets.

Both train the lesson's model (Embedding(10000, 32) → LSTM(100) → Dense(1, sigmoid), Adam,
batch 64) for the same number of epochs on the same reviews (rnnlab's IMDB loader, the shipped
config's stratified validation split), then score the full test split. Each contender runs in its
own process so its peak memory is its own, and the two take turns of ``TURN_BATCHES`` training
batches (a second or two), the other process waiting. This machine is shared: its speed dips by up
to half for tens of seconds at a time, and taking turns spreads each dip over both contenders in
proportion to their work, so the ratio measures the pipelines rather than the neighbours. An
epoch's seconds are its process's own (its waits for a turn left out); seconds per epoch leave out
the first epoch (tracing) when there are several.

    python bench/run.py imdb [--epochs 3] [--patience P] [--limit N] [--source npz|directory]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
from common import epoch_clock, peak_rss_mb, shared_file, table

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
TURN_BATCHES = 16


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py imdb", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per contender (default 3)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N reviews of each split (0 = all)")
    parser.add_argument(
        "--patience", type=int, default=0, help="EarlyStopping on val_loss (best weights restored) for both; 0 = off"
    )
    parser.add_argument("--source", choices=("npz", "directory"), default="npz", help="shared imdb.npz or the aclImdb tarball")
    parser.add_argument(
        "--shared",
        type=Path,
        help="folder holding imdb.npz / aclImdb_train_test.tar.gz (default $RNNLAB_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--one", choices=("lesson", "rnnlab"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def generated_npz(folder: Path, per_class: int = 12500) -> Path:
    """Reviews shaped like IMDB's (log-normal lengths, median ≈ 174 words, Zipf-like ranks) with a
    few sentiment words per review, for machines without ../shared/data."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "test"):
        reviews, labels = [], []
        for label in (0, 1):
            for _ in range(per_class):
                n = int(min(2400, max(10, rng.lognormal(5.16, 0.7))))
                ranks = np.minimum(rng.zipf(1.3, n), 9990) + 5
                signal = rng.integers(0, 5, size=max(1, n // 40)) + (20 if label else 40)
                ranks[rng.integers(0, n, size=len(signal))] = signal
                reviews.append(ranks.tolist())
                labels.append(label)
        x = np.empty(len(reviews), dtype=object)
        x[:] = reviews
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, np.array(labels, dtype=np.int64)
    path = folder / "imdb.npz"
    np.savez(path, **arrays)
    (folder / "imdb_word_index.json").write_text(json.dumps({f"w{r}": r for r in range(1, 10001)}), encoding="utf-8")
    return path


def real_file(args: argparse.Namespace, name: str) -> Path | None:
    if args.shared is not None:
        return args.shared / name if (args.shared / name).is_file() else None
    return shared_file(name)


def data_overrides(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """The real data when present; generated reviews (said so in the table's title) otherwise."""
    if args.source == "directory":
        tarball = real_file(args, "aclImdb_train_test.tar.gz")
        if tarball is None:
            raise SystemExit("bench imdb --source directory needs aclImdb_train_test.tar.gz in ../shared/data or --shared")
        return {"source": "directory", "path": str(tarball)}
    npz = real_file(args, "imdb.npz")
    return {"source": "keras", "path": str(npz or generated_npz(scratch)), "generated": npz is None}


def config_for(data: dict[str, Any], epochs: int, bucketed: bool) -> Any:
    from rnnlab.config import load_config

    overrides = [f"data.{k}={v}" for k, v in data.items()]
    overrides += [f"data.bucket_by_length={str(bucketed).lower()}", f"training.epochs={epochs}", "training.early_stopping=off"]
    # the lesson's model, Adam's default rate and no weight average, as the plain Keras side trains
    overrides += ["model.dropout=0.0", "training.learning_rate=0.001", "training.ema_momentum=null"]
    return load_config(PROJECT / "configs" / "imdb_lstm.yaml", overrides)


def limited(split: Any, limit: int, seed: int = 0) -> Any:
    from rnnlab.data.contract import Split

    if not limit or len(split) <= limit:
        return split
    rows = np.random.default_rng(seed).permutation(len(split))[:limit]
    return Split(split.x[rows], split.y[rows])


def lesson_model(maxlen: int) -> Any:
    """The lesson's script, layer for layer."""
    from rnnlab.runtime import keras

    k = keras()
    model = k.Sequential(
        [k.Input(shape=(maxlen,)), k.layers.Embedding(10000, 32), k.layers.LSTM(100), k.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


class Turns:
    """The child's side of ``take_turns``: ask the parent for the machine, block until given it,
    and count the seconds spent waiting so that they can be left out of the epoch times."""

    def __init__(self) -> None:
        self.waited = 0.0

    def __call__(self, stage: str) -> None:
        started = time.perf_counter()
        print(f"TURN {stage}", flush=True)
        sys.stdin.readline()
        self.waited += time.perf_counter() - started


def one_contender(args: argparse.Namespace, turn: Turns) -> dict[str, Any]:
    """Load, fit and test one way in this process, taking turns with the other (see ``Turns``);
    the figures as a JSON-able dict."""
    from rnnlab.data import imdb
    from rnnlab.model.builder import build_model
    from rnnlab.runtime import keras
    from rnnlab.train.pipeline import fit_data
    from rnnlab.train.trainer import compile_model

    k = keras()
    bucketed = args.one == "rnnlab"
    config = config_for(json.loads(args.data), args.epochs, bucketed)
    k.utils.set_random_seed(config.experiment.seed)
    turn("load")
    started = time.perf_counter()
    data = imdb.Imdb().load(config.data, seed=config.experiment.seed, validation_split=config.training.validation_split)
    load_s = time.perf_counter() - started
    train, validation, test = (limited(s, args.limit) for s in (data.train, data.validation, data.test))

    epoch_times: list[float] = []
    epoch_cpu: list[float] = []
    callbacks = [epoch_clock(epoch_times, epoch_cpu, turn=turn, every=TURN_BATCHES, waited=lambda: turn.waited)]
    if args.patience:
        callbacks.append(k.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True))
    if bucketed:
        model = compile_model(build_model(config.model, data.spec), config, data.spec)
        held_out = fit_data(config, validation, data.spec, shuffle=False)
        stream = fit_data(config, train, data.spec, shuffle=True)
        cells = sum(int(np.prod(x.shape)) for x, _ in stream)
        model.fit(stream, epochs=args.epochs, validation_data=held_out, callbacks=callbacks, verbose=2)
        turn("test")
        scores = model.evaluate(fit_data(config, test, data.spec, shuffle=False), verbose=0, return_dict=True)
    else:
        model, cells = lesson_model(config.data.maxlen), train.x.size
        model.fit(
            train.x,
            train.y,
            batch_size=64,
            epochs=args.epochs,
            validation_data=(validation.x, validation.y),
            callbacks=callbacks,
            verbose=2,
        )
        turn("test")
        scores = model.evaluate(test.x, test.y, batch_size=64, verbose=0, return_dict=True)
    steady, steady_cpu = (epoch_times[1:], epoch_cpu[1:]) if len(epoch_times) > 1 else (epoch_times, epoch_cpu)
    per_epoch = float(np.mean(steady))
    padding = "masked" if config.data.mask_padding else f"{config.data.padding}-padded, unmasked"
    return {
        "way": f"rnnlab: length buckets, {padding}" if bucketed else f"lesson: padded to {config.data.maxlen}, fit",
        "epochs": len(epoch_times),
        "s/epoch": per_epoch,
        "median epoch s": float(np.median(steady)),
        "best epoch s": min(steady),
        "CPU s/epoch": float(np.mean(steady_cpu)),
        "epoch s": epoch_times,
        "epoch cpu s": epoch_cpu,
        "first epoch s": epoch_times[0],
        "reviews/s": len(train) / per_epoch,
        "steps/review": cells / len(train),
        "words/review": float((train.x != 0).sum() / len(train)),
        "test acc": float(scores["accuracy"]),
        "test reviews": len(test),
        "peak MB": peak_rss_mb(),
        "load s": load_s,
    }


class Contender:
    """One ``--one WAY`` child process, driven a turn at a time over its stdin/stdout."""

    def __init__(self, way: str, command: list[str], scratch: Path) -> None:
        self.way, self.result, self.lines = way, None, []
        self.log = (scratch / f"{way}.stderr").open("w+")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def run_until_turn(self) -> bool:
        """Let the child work until it asks for its next turn (True) or exits (False)."""
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        for line in stdout:
            if line.startswith("TURN "):
                return True
            if line.startswith("RESULT "):
                self.result = json.loads(line.removeprefix("RESULT "))
            elif " - " in line:
                sys.stderr.write(f"  {self.way}: {line}")
        self.process.wait()
        return False

    def give_turn(self) -> bool:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write("go\n")
        stdin.flush()
        return self.run_until_turn()

    def failure(self) -> str | None:
        if self.process.returncode == 0 and self.result is not None:
            return None
        self.log.seek(0)
        return f"{self.way} failed (exit {self.process.returncode}):\n{self.log.read()[-3000:]}"


def take_turns(contenders: list[Contender]) -> None:
    """Round-robin: exactly one child runs at a time, for one stage or a few batches a turn."""
    waiting = [c for c in contenders if c.run_until_turn()]
    while waiting:
        waiting = [c for c in waiting if c.give_turn()]


def paired_ratios(lesson: dict[str, Any], ours: dict[str, Any]) -> list[float]:
    """lesson / rnnlab seconds for each epoch both ran, the first (tracing) left out."""
    pairs = list(zip(lesson["epoch s"], ours["epoch s"]))[1:]
    return [a / b for a, b in pairs]


def main(argv: list[str]) -> int:
    args = arguments(argv)
    if args.one:
        print("RESULT " + json.dumps(one_contender(args, Turns())), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        overrides = data_overrides(args, Path(scratch))
        origin = "GENERATED reviews (no real data found)" if overrides.pop("generated", False) else overrides["path"]
        data = json.dumps(overrides)
        contenders = []
        for way in ("lesson", "rnnlab"):
            command = [sys.executable, str(HERE / "run.py"), "imdb", "--one", way, "--data", data]
            command += ["--epochs", str(args.epochs), "--limit", str(args.limit), "--patience", str(args.patience)]
            contenders.append(Contender(way, command, Path(scratch)))
        print(f"# lesson and rnnlab take turns, {TURN_BATCHES} batches each ...", file=sys.stderr, flush=True)
        take_turns(contenders)
        failures = [f for f in (c.failure() for c in contenders) if f]
        for c in contenders:
            c.log.close()
        if failures:
            print("\n".join(failures), file=sys.stderr)
            return 1
    lesson, ours = rows = [c.result for c in contenders]
    timings = ("s/epoch", "median epoch s", "best epoch s", "CPU s/epoch")
    ratio = {
        "way": "ratio rnnlab / lesson",
        "reviews/s": ours["reviews/s"] / lesson["reviews/s"],
        **{t: ours[t] / lesson[t] for t in timings},
    }
    ratio["test acc"] = f"{100 * (ours['test acc'] - lesson['test acc']):+.2f} points"
    ratio["peak MB"] = ours["peak MB"] / lesson["peak MB"]
    columns = [
        "way",
        "epochs",
        *timings,
        "first epoch s",
        "reviews/s",
        "steps/review",
        "words/review",
        "test acc",
        "test reviews",
        "peak MB",
        "load s",
    ]
    stopping = (
        f"up to {args.epochs} epochs, EarlyStopping(val_loss, patience {args.patience})"
        if args.patience
        else f"{args.epochs} epoch(s) each"
    )
    print(f"IMDB from {origin} ({lesson['test reviews']:,} test reviews), lesson's model, {stopping}")
    print(table([*rows, ratio], columns))
    print(
        "seconds per epoch (CPU seconds), lesson vs rnnlab: "
        + "; ".join(
            f"{a:.1f} ({ca:.0f}) vs {b:.1f} ({cb:.0f})"
            for a, ca, b, cb in zip(lesson["epoch s"], lesson["epoch cpu s"], ours["epoch s"], ours["epoch cpu s"])
        )
    )
    pairs = paired_ratios(lesson, ours)
    if pairs:
        print(
            f"paired epochs (lesson / rnnlab, first left out): median {np.median(pairs):.2f}x, range {min(pairs):.2f}-{max(pairs):.2f}x over {len(pairs)}"
        )
    labels = ("mean epoch", "median epoch", "best epoch", "CPU seconds per epoch")
    print("speed-up, lesson / rnnlab: " + ", ".join(f"{label} {lesson[t] / ours[t]:.2f}x" for label, t in zip(labels, timings)))
    return 0
