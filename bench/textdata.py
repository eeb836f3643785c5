"""``dataset: text`` on the real IMDB reviews against ``dataset: imdb``, an 8-class rating task, predict.

``python bench/run.py textdata [--epochs 4] [--keep DIR]``

1. The aclImdb tarball (``aclImdb_train_test.tar.gz`` in the shared data) becomes ``train.csv`` and
   ``test.csv`` (``text,label,rating``; the rating is the stars in each file name ``<id>_<stars>.txt``),
   read in memory, never extracted, written to a temporary folder (``--keep DIR`` to keep them).
   The rows are in ``source: directory``'s order (by class, then member name), so both datasets
   see the same reviews in the same order.
2. ``configs/imdb_lstm.yaml``'s model and training (``--epochs`` at most) three times: ``dataset:
   imdb`` on the tarball, ``dataset: text`` on the CSVs (``label``), and ``dataset: text`` with
   ``label_column: rating`` (8 classes: 1-4 and 7-10 stars) against its majority baseline.
3. ``rnnlab predict`` on the text run and on the imdb run, wall time of a fresh process, and the
   largest difference from the Keras model's probabilities on 200 test reviews.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

import yaml
from common import shared_file, table

PROJECT = Path(__file__).resolve().parents[1]


def write_csvs(tarball: Path, folder: Path) -> dict[str, Path]:
    """``folder/{train,test}.csv`` from the tarball, in ``imdb.read_directory``'s order."""
    from rnnlab.data import imdb

    found = imdb._tar_reviews(tarball, imdb.SPLITS)
    out = {}
    for split in imdb.SPLITS:
        out[split] = folder / f"{split}.csv"
        with out[split].open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label", "rating"])
            for label in imdb.LABELS:
                for where, raw in sorted(found[(split, label)]):
                    stars = PurePosixPath(where.rsplit(":", 1)[-1]).stem.rsplit("_", 1)[-1]
                    writer.writerow([raw.decode("utf-8"), label, int(stars)])
    return out


def config(folder: Path, name: str, data: dict, epochs: int) -> Path:
    raw = yaml.safe_load((PROJECT / "configs" / "imdb_lstm.yaml").read_text(encoding="utf-8"))
    shape = {k: raw["data"][k] for k in ("num_words", "maxlen", "padding", "truncating", "bucket_by_length", "mask_padding")}
    raw["data"] = {**shape, **data}
    raw["experiment"] = {"seed": 42, "name": name, "output_root": str(folder / "checkpoints")}
    raw["training"]["epochs"] = epochs
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def rnnlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], capture_output=True, text=True, check=True, cwd=PROJECT)


def trained(path: Path) -> dict:
    started = time.perf_counter()
    rnnlab("train", str(path))
    metrics = json.loads((path.parent / "checkpoints" / path.stem / "metrics.json").read_text(encoding="utf-8"))
    return metrics | {"wall_s": time.perf_counter() - started}


def predict_checks(run: Path, reviews: list[str]) -> dict:
    """Fresh-process wall of ``rnnlab predict`` (median of 3) and |NumPy engine − Keras| on ``reviews``."""
    from rnnlab.commands.predict import RunPredictor
    from rnnlab.data import dataset
    from rnnlab.run.opening import open_run

    walls = []
    for _ in range(3):
        started = time.perf_counter()
        answer = rnnlab("predict", str(run), "-p", "a wonderful film, the acting moved me").stdout.strip()
        walls.append(time.perf_counter() - started)
    opened = open_run(run)
    chosen = dataset(opened.config.data.dataset)
    answers = {}
    for engine in ("numpy", "keras"):
        predictor = RunPredictor(opened, engine)
        answers[engine] = [
            p.record["probabilities"] for p in chosen.predict(opened.config.data, opened.state, predictor, reviews, {})
        ]
    worst = max(abs(a[k] - b[k]) for a, b in zip(answers["numpy"], answers["keras"]) for k in a)
    same = all(max(a, key=a.get) == max(b, key=b.get) for a, b in zip(answers["numpy"], answers["keras"]))
    return {"predict_s": sorted(walls)[1], "answer": answer, "max_diff": worst, "same_labels": same}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py textdata")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="write the CSVs and runs here instead of a temporary folder")
    args = parser.parse_args(argv)
    tarball = shared_file("aclImdb_train_test.tar.gz")
    if tarball is None:
        print("needs aclImdb_train_test.tar.gz in the shared data ($RNNLAB_SHARED_DATA)", file=sys.stderr)
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="rnnlab-textdata-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        csvs = write_csvs(tarball, folder)
        print(f"CSV written in {time.perf_counter() - started:.1f} s: {csvs['train']}, {csvs['test']}", flush=True)
        plans = {
            "imdb_directory": {"dataset": "imdb", "source": "directory", "path": str(tarball)},
            "text_label": {"dataset": "text", "path": str(csvs["train"]), "test_path": str(csvs["test"])},
            "text_rating": {
                "dataset": "text",
                "path": str(csvs["train"]),
                "test_path": str(csvs["test"]),
                "label_column": "rating",
            },
        }
        rows = []
        for name, data in plans.items():
            metrics = trained(config(folder, name, data, args.epochs))
            result = metrics.get("classification", {})
            rows.append(
                {
                    "run": name,
                    "epochs": metrics["epochs"],
                    "best": metrics["best_epoch"],
                    "s/epoch": metrics["seconds_per_epoch"],
                    "test acc": metrics["test_accuracy"],
                    "macro F1": result.get("macro_f1", ""),
                    "majority": result.get("majority_accuracy", ""),
                    "wall s": metrics["wall_s"],
                }
            )
            print(table(rows[-1:], list(rows[-1])), flush=True)
        with csvs["test"].open(encoding="utf-8", newline="") as f:
            reviews = [r["text"] for _, r in zip(range(200), csv.DictReader(f))]
        checks = []
        for name in ("text_label", "imdb_directory", "text_rating"):
            checks.append({"run": name} | predict_checks(folder / "checkpoints" / name, reviews))
        print(table(rows, list(rows[0])))
        print(table(checks, ["run", "predict_s", "max_diff", "same_labels", "answer"]))
        shutil.copy(
            folder / "checkpoints" / "text_rating" / "confusion.png", PROJECT / "docs" / "gallery" / "text_rating_confusion.png"
        )
        print(f"confusion matrix of the rating task: docs/gallery/text_rating_confusion.png; runs in {folder}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0
