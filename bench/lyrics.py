"""Lyrics language model: rnnlab vs the lesson's eager loop, same corpus slice, sizes and batch.

``python bench/run.py lyrics [--epochs N] [--eager-epochs N] [--max-chars N]``

Each contender runs in its own process (so peak memory is its own) on the first ``max_chars``
characters, one-hot input, 256 hidden units, 35 steps, batch 32, consecutive batches:

- eager: the lesson's ``train_and_predict_rnn`` as written — one-hot inputs per step, a Python
  loop over time steps ``H = tanh(X W_xh + H W_hh + b_h); Y = H W_hq + b_q`` under a persistent
  ``tf.GradientTape``, the lesson's ``grad_clipping`` (global norm summed in Python, θ = 0.01),
  SGD at learning rate 100, consecutive batches with the state carried (the tape starts afresh
  each batch, so the state is detached); only the loss is fixed to read logits;
- rnnlab: ``configs/lyrics_rnn.yaml`` through ``rnnlab.train.trainer.train`` (Adam 0.003, clip 1.0).

Figures: training characters/second (steady epochs, the first one with tracing left out), wall
time from the start of training to training perplexity ≤ 1.2, generation characters/second
after load (greedy, 500 characters after 分开), perplexity at the last epoch, peak RSS.
The eager loop needs ~250 epochs to reach 1.2 (≈8 min); unless ``--eager-epochs`` reaches the
target, its time is estimated as ``--eager-epochs-to-target`` × its measured seconds per epoch.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from common import peak_rss_mb, shared_file, table

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.2
UNITS, STEPS, BATCH = 256, 35, 32
GEN_PREFIX, GEN_LENGTH = "分开", 500
LESSON_LR, LESSON_THETA = 1e2, 1e-2


def corpus_path(workdir: Path) -> Path:
    """The real corpus when present, else generated text of the same shape (phrases over ~1,000 symbols)."""
    real = shared_file("jaychou_lyrics.txt.zip")
    if real is not None:
        return real
    import numpy as np

    rng = np.random.default_rng(0)
    symbols = [chr(0x4E00 + i) for i in range(1025)] + ["分", "开"]
    phrases = ["".join(rng.choice(symbols, size=rng.integers(2, 8))) for _ in range(400)]
    text = " ".join(phrases[i] for i in rng.integers(0, len(phrases), 20000))
    path = workdir / "generated_lyrics.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lyrics.txt", "分开 " + text)
    return path


def lesson_text(path: Path, max_chars: int) -> str:
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return text.replace("\n", " ").replace("\r", " ")[:max_chars]


def run_eager(path: Path, epochs: int, max_chars: int) -> dict[str, Any]:
    """d2l's ``train_and_predict_rnn`` (TensorFlow edition) as the lesson runs it, loss fixed to read logits."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    text = lesson_text(path, max_chars)
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    corpus_indices = [index[c] for c in text]
    vocab_size = len(vocab)
    tf.random.set_seed(0)

    def get_params() -> list[Any]:
        def _one(shape: tuple[int, ...]) -> Any:
            return tf.Variable(tf.random.normal(shape=shape, stddev=0.01, mean=0, dtype=tf.float32))

        w_xh, w_hh, b_h = _one((vocab_size, UNITS)), _one((UNITS, UNITS)), tf.Variable(tf.zeros(UNITS), dtype=tf.float32)
        w_hq, b_q = _one((UNITS, vocab_size)), tf.Variable(tf.zeros(vocab_size), dtype=tf.float32)
        return [w_xh, w_hh, b_h, w_hq, b_q]

    def to_onehot(x: np.ndarray, size: int) -> list[Any]:
        return [tf.one_hot(x_t, size, dtype=tf.float32) for x_t in x.T]

    def rnn(inputs: list[Any], state: tuple[Any], params: list[Any]) -> tuple[list[Any], tuple[Any]]:
        w_xh, w_hh, b_h, w_hq, b_q = params
        (h,) = state
        outputs = []
        for x in inputs:
            x = tf.reshape(x, [-1, w_xh.shape[0]])
            h = tf.tanh(tf.matmul(x, w_xh) + tf.matmul(h, w_hh) + b_h)
            outputs.append(tf.matmul(h, w_hq) + b_q)
        return outputs, (h,)

    def grad_clipping(grads: list[Any], theta: float) -> list[Any]:
        norm = np.array([0.0])
        for g in grads:
            norm += tf.math.reduce_sum(g**2)
        norm = np.sqrt(norm).item()
        return [g * theta / norm for g in grads] if norm > theta else grads

    def data_iter_consecutive(indices: list[int], batch_size: int, num_steps: int) -> Any:
        indices_arr = np.array(indices)
        batch_len = len(indices_arr) // batch_size
        rows = indices_arr[0 : batch_size * batch_len].reshape((batch_size, batch_len))
        for i in range((batch_len - 1) // num_steps):
            i = i * num_steps
            yield rows[:, i : i + num_steps], rows[:, i + 1 : i + num_steps + 1]

    params = get_params()
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.SGD(learning_rate=LESSON_LR)
    history, reached_at, chars, times = [], None, 0, []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        state = (tf.zeros((BATCH, UNITS)),)
        l_sum, n = 0.0, 0
        for x, y in data_iter_consecutive(corpus_indices, BATCH, STEPS):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(params)
                inputs = to_onehot(x, vocab_size)
                outputs, state = rnn(inputs, state, params)
                outputs = tf.concat(outputs, 0)
                labels = y.T.reshape((-1,))
                l = tf.reduce_mean(loss(labels, outputs))
            grads = grad_clipping(tape.gradient(l, params), LESSON_THETA)
            optimizer.apply_gradients(zip(grads, params))
            l_sum += np.array(l).item() * len(labels)
            n += len(labels)
        chars = n
        times.append(time.perf_counter() - t0)
        history.append(math.exp(l_sum / n))
        if reached_at is None and history[-1] <= TARGET:
            reached_at = (epoch, time.perf_counter() - started)
    w_xh, w_hh, b_h, w_hq, b_q = params
    v = vocab_size

    def step(token: int, h: Any) -> tuple[int, Any]:
        h = tf.tanh(tf.matmul(tf.one_hot([token], v), w_xh) + tf.matmul(h, w_hh) + b_h)
        return int(tf.argmax(tf.matmul(h, w_hq) + b_q, axis=1)[0]), h

    def generate() -> str:
        h, out = tf.zeros((1, UNITS)), []
        for c in GEN_PREFIX:
            token, h = step(index.get(c, 0), h)
        for _ in range(GEN_LENGTH):
            out.append(vocab[token])
            token, h = step(token, h)
        return "".join(out)

    generate()
    t0 = time.perf_counter()
    sample = generate()
    gen_time = time.perf_counter() - t0
    return result(history, times, chars, reached_at, gen_time, sample)


def result(
    history: list[float], times: list[float], chars: int, reached_at: tuple[int, float] | None, gen_time: float, sample: str
) -> dict[str, Any]:
    steady = sorted(times[1:] or times)[len(times[1:] or times) // 2]
    return {
        "epochs": len(history),
        "s_per_epoch": steady,
        "chars_per_s": chars / steady,
        "ppl_100": history[99] if len(history) >= 100 else None,
        "ppl_last": history[-1],
        "epoch_to_target": reached_at[0] if reached_at else None,
        "time_to_target_s": reached_at[1] if reached_at else None,
        "gen_chars_per_s": GEN_LENGTH / gen_time,
        "peak_rss_mb": peak_rss_mb(),
        "sample": sample[:50],
    }


def run_rnnlab(path: Path, epochs: int, max_chars: int, workdir: Path) -> dict[str, Any]:
    import numpy as np

    from rnnlab.commands.predict import open_answerer
    from rnnlab.config import load_config
    from rnnlab.run.files import read_history
    from rnnlab.runtime import keras
    from rnnlab.train import trainer

    config = load_config(
        ROOT / "configs" / "lyrics_rnn.yaml",
        [f"data.path={path}", f"data.max_chars={max_chars}", f"training.epochs={epochs}", f"experiment.output_root={workdir}"],
    )
    ends: list[float] = []
    original = trainer.callbacks

    def timed(*args: Any, **kwargs: Any) -> list[Any]:
        clock = keras().callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
        return [*original(*args, **kwargs), clock]

    trainer.callbacks = timed
    started = time.perf_counter()
    run = trainer.train(config, fresh=True, verbose=0)
    history = read_history(run.run_dir / "history.csv")["perplexity"]
    times = list(np.diff([started, *ends]))
    hit = next((i for i, p in enumerate(history) if p <= TARGET), None)
    reached_at = (hit + 1, ends[hit] - started) if hit is not None else None
    chars = run.metrics["train_samples"] // BATCH * BATCH * STEPS

    answerer = open_answerer(run.run_dir)
    params = {"length": GEN_LENGTH}
    answerer.answer([GEN_PREFIX], params)
    t0 = time.perf_counter()
    sample = answerer.answer([GEN_PREFIX], params)[0].record["generated"]
    return result(history, times, chars, reached_at, time.perf_counter() - t0, sample)


def child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        if args.role == "eager":
            out = run_eager(Path(args.corpus), args.eager_epochs, args.max_chars)
        else:
            out = run_rnnlab(Path(args.corpus), args.epochs, args.max_chars, Path(tmp))
    print("RESULT " + json.dumps(out, ensure_ascii=False))
    return 0


def measure(role: str, corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--corpus",
        str(corpus),
        "--epochs",
        str(args.epochs),
        "--eager-epochs",
        str(args.eager_epochs),
        "--max-chars",
        str(args.max_chars),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{role} failed:\n{done.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py lyrics", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="rnnlab epochs (it reaches 1.2 in ~35)")
    parser.add_argument("--eager-epochs", type=int, default=10, help="eager-loop epochs (250 to measure its time to 1.2)")
    parser.add_argument("--eager-epochs-to-target", type=int, default=250, help="the eager loop's epochs to 1.2 from a full run")
    parser.add_argument("--max-chars", type=int, default=10000)
    parser.add_argument("--corpus", help="lyrics .zip to use (default: ../shared/data/jaychou_lyrics.txt.zip, else generated)")
    parser.add_argument("--role", choices=["eager", "rnnlab"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role:
        return child(args)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(args.corpus) if args.corpus else corpus_path(Path(tmp))
        eager = measure("eager", corpus, args)
        ours = measure("rnnlab", corpus, args)
    estimated = eager["time_to_target_s"] is None
    if estimated:
        eager["time_to_target_s"] = args.eager_epochs_to_target * eager["s_per_epoch"]
        eager["epoch_to_target"] = f"{args.eager_epochs_to_target} (full run)"
    rows = []
    for name, r in (("lesson eager loop", eager), ("rnnlab", ours)):
        rows.append(
            {
                "": name,
                "epochs run": r["epochs"],
                "s/epoch": r["s_per_epoch"],
                "train chars/s": r["chars_per_s"],
                "epoch ppl<=1.2": r["epoch_to_target"],
                "time to 1.2 (s)": r["time_to_target_s"],
                "ppl@100": r["ppl_100"] or "-",
                "ppl last": r["ppl_last"],
                "gen chars/s": r["gen_chars_per_s"],
                "peak RSS MB": r["peak_rss_mb"],
            }
        )
    ratio = {
        "": "ratio (rnnlab / eager)",
        "train chars/s": ours["chars_per_s"] / eager["chars_per_s"],
        "gen chars/s": ours["gen_chars_per_s"] / eager["gen_chars_per_s"],
    }
    if ours["time_to_target_s"]:
        ratio["time to 1.2 (s)"] = f"{eager['time_to_target_s'] / ours['time_to_target_s']:.1f}x less"
    print(f"corpus: {corpus.name}, first {args.max_chars} chars; one-hot, SimpleRNN {UNITS}, {STEPS} steps, batch {BATCH}")
    print(table([*rows, ratio], list(rows[0])))
    if estimated:
        print(f"eager time to 1.2 estimated: {args.eager_epochs_to_target} epochs x its measured s/epoch")
    print(f"rnnlab sample after {GEN_PREFIX}: {GEN_PREFIX}{ours['sample']}")
    print(f"eager  sample after {GEN_PREFIX}: {GEN_PREFIX}{eager['sample']}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
