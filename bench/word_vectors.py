"""What ``model.embedding_init: ppmi`` costs and what it finds, on the IMDB training reviews.

Side by side, from one run: the seconds ``ppmi_vectors`` takes for several vocabulary sizes
against one epoch of the shipped ``imdb_bilstm``'s model (its own vocabulary, random start) on the
same reviews, then the nearest neighbours of a few words in the vectors the Embedding starts from.
Needs ``imdb.npz`` (``$RNNLAB_SHARED_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from common import epoch_clock, peak_rss_mb, shared_file, stopwatch, table

PROBES = ("awful", "great", "boring", "funny", "actor")


def neighbours(vectors: np.ndarray, words: list[str], probe: str, count: int = 5) -> str:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    row = words.index(probe)
    order = np.argsort(-(unit @ unit[row]))
    return ", ".join([words[i] for i in order if i != row and words[i]][:count])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py word_vectors")
    parser.add_argument("--sizes", default="5000,10000,20000", help="vocabulary sizes to time")
    parser.add_argument("--epoch", action=argparse.BooleanOptionalAction, default=True, help="also time one epoch")
    args = parser.parse_args(argv)
    npz = shared_file("imdb.npz")
    if npz is None:
        print("bench word_vectors: no imdb.npz in the shared data folder; set RNNLAB_SHARED_DATA")
        return 2
    from rnnlab.config import load_config
    from rnnlab.data import dataset
    from rnnlab.data.imdb import ranked_words
    from rnnlab.model.word_vectors import ppmi_vectors

    rows = []
    kept: dict[int, tuple[np.ndarray, list[str]]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        config = load_config("configs/imdb_bilstm.yaml", [f"data.path={npz}", f"data.num_words={size}"])
        data = dataset("imdb").load(config.data, seed=42, validation_split=config.training.validation_split)
        with stopwatch() as seconds:
            vectors = ppmi_vectors(data.train.x, size, config.model.embedding_dim, skip=0, seed=42)
        rows.append({"vocabulary": size, "reviews": len(data.train), "ppmi_vectors s": seconds()})
        words = [""] * size
        for rank, word in enumerate(ranked_words(config.data), start=config.data.index_from + 1):
            if rank < size:
                words[rank] = word
        kept[size] = (vectors, words)
    if args.epoch:
        shipped = load_config("configs/imdb_bilstm.yaml", [f"data.path={npz}"])
        rows.append({"vocabulary": shipped.data.num_words, "reviews": rows[0]["reviews"], "one epoch s": epoch_seconds(shipped)})
        for row in rows[:-1]:
            row["share of one epoch"] = f"{row['ppmi_vectors s'] / rows[-1]['one epoch s']:.1%}"
    print(table(rows, ["vocabulary", "reviews", "ppmi_vectors s", "one epoch s", "share of one epoch"]))
    print(f"peak resident memory of the whole bench: {peak_rss_mb():,.0f} MB")
    vectors, words = kept[min(kept)]
    print(f"\nNearest words (cosine) in the {min(kept):,}-word starting vectors:")
    for probe in PROBES:
        if probe in words:
            print(f"  {probe:8} {neighbours(vectors, words, probe)}")
    return 0


def epoch_seconds(config: Any) -> float:
    """One epoch of ``config``'s model (random start), timed by the bench's clock."""
    from rnnlab.data import dataset
    from rnnlab.model.builder import build_model
    from rnnlab.train.pipeline import fit_data
    from rnnlab.train.trainer import compile_model

    chosen = dataset("imdb")
    data = chosen.load(config.data, seed=42, validation_split=config.training.validation_split)
    model = compile_model(build_model(config.model, data.spec), config, data.spec, data.train.y)
    walls: list[float] = []
    model.fit(fit_data(config, data.train, data.spec, shuffle=True), epochs=1, verbose=0, callbacks=[epoch_clock(walls, [])])
    return walls[0]
