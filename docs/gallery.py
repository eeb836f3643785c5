"""The gallery page (docs/gallery.md), made from real runs: ``python docs/gallery.py [--set K=V]... [--only NAME]...``.

Trains every shipped config of a dataset listed in ``INPUTS`` (the alphabet always; IMDB and
lyrics when their configs exist in this checkout), exactly as a user would, through the ``rnnlab``
commands in a scratch folder, then writes into ``docs/gallery/``:

- ``<config>_curves.png``: the run's own curves; ``<dataset>_<metric>.png``: that dataset's runs overlaid;
- ``<config>.txt``: the command lines and excerpts of what they printed (train summary, weights
  dump, a prediction), and ``runs.txt``: the ``rnnlab runs`` table;
- docs/gallery.md's gallery block (between the ``gallery:start``/``gallery:end`` markers), rewritten.

Training the real datasets takes a while: run it under ``flock /tmp/rnnlab-heavy.lock`` on a shared machine.
docs/gallery.md's gallery was made with::

    python docs/gallery.py --only alphabet_onehot --only alphabet_embedding --only alphabet4_embedding \
        --only lyrics_rnn --only imdb_lstm \
        --data lyrics=../shared/data/jaychou_lyrics.txt.zip --data imdb=../shared/data/imdb.npz
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

GALLERY = PROJECT / "docs" / "gallery"
README = PROJECT / "docs" / "gallery.md"
MAX_PNG_BYTES = 100_000
WEIGHTS_LINES = 12

INPUTS: dict[str, list[str]] = {
    "alphabet": [],
    "imdb": ["A moving story with superb acting; I loved every minute.", "Dull, predictable and far too long."],
    "lyrics": ["分开", "不分开"],
}


def rnnlab(*args: str) -> str:
    """Run one ``rnnlab`` command in-process and return what it printed on stdout."""
    from rnnlab.cli import app

    out, err = io.StringIO(), io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = app(list(args), prog_name="rnnlab", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
    if code not in (0, None):
        raise SystemExit(f"`rnnlab {' '.join(args)}` failed: {err.getvalue().strip()}")
    return out.getvalue()


def gallery_configs(only: list[str]) -> list[tuple[Path, str]]:
    """Shipped configs whose dataset the gallery knows how to question, with that dataset."""
    chosen = []
    for path in sorted((PROJECT / "configs").glob("*.yaml")):
        dataset = ((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("data") or {}).get("dataset")
        if dataset in INPUTS and (not only or path.stem in only):
            chosen.append((path, dataset))
    return chosen


def prompts(config: Path, dataset: str) -> list[str]:
    if INPUTS[dataset]:
        return INPUTS[dataset]
    data = yaml.safe_load(config.read_text(encoding="utf-8"))["data"]
    letters, window = data.get("letters", "abcde"), data.get("window", 1)
    return [(letters * 2)[start : start + window] for start in (0, 2)]


def quoted(text: str) -> str:
    return text if re.fullmatch(r"[\w./=-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def command(*args: str) -> str:
    return "rnnlab " + " ".join(quoted(a) for a in args)


def checked_png(source: Path, target: Path) -> str:
    size = source.stat().st_size
    if size > MAX_PNG_BYTES:
        raise SystemExit(f"{source}: {size} bytes, over the gallery's {MAX_PNG_BYTES}; shrink the figure")
    shutil.copyfile(source, target)
    return target.relative_to(README.parent).as_posix()


def summary_start(lines: list[str]) -> int:
    """Where ``train``'s closing summary begins (its "Run folder:" line): the epochs, the test scores,
    a classifier's per-class table and the baseline all follow it."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Run folder:")]
    return starts[-1] if starts else max(len(lines) - 3, 0)


def show_run(config: Path, dataset: str, overrides: list[str], data: dict[str, str]) -> tuple[str, Path]:
    """Train one config and return its gallery section (markdown) and its run folder."""
    name = config.stem
    local = [f"data.path={data[dataset]}"] if dataset in data else []
    sets = [arg for o in [*local, *overrides] for arg in ("--set", o)]
    train_args = ("train", f"configs/{config.name}", *sets)
    trained = rnnlab(*train_args).strip().splitlines()
    run = Path("checkpoints") / name
    predict_args = ["predict", str(Path("checkpoints") / name), *[a for p in prompts(config, dataset) for a in ("--prefix", p)]]
    answers = rnnlab(*predict_args).strip()
    weights = (run / "weights.txt").read_text(encoding="utf-8").splitlines()
    excerpt = "\n".join(weights[:WEIGHTS_LINES] + (["..."] if len(weights) > WEIGHTS_LINES else []))
    curves = checked_png(run / "curves.png", GALLERY / f"{name}_curves.png")
    text = (
        f"$ {command(*train_args)}\n...\n" + "\n".join(trained[summary_start(trained) :]) + "\n\n"
        f"$ {command(*predict_args)}\n{answers}\n\n"
        f"$ head -{WEIGHTS_LINES} {run}/weights.txt\n{excerpt}\n"
    )
    (GALLERY / f"{name}.txt").write_text(text, encoding="utf-8")
    section = f"#### `{name}` ({dataset})\n\n![{name} curves]({curves})\n\n```text\n{text}```\n"
    return section, run


def overlay(dataset: str, runs: list[Path]) -> str:
    """One picture of a dataset's runs, on validation loss when they all have it."""
    from rnnlab.run.files import read_history

    has_val = all("val_loss" in read_history(run / "history.csv") for run in runs)
    metric = "val_loss" if has_val else "loss"
    scratch_png = f"{dataset}_{metric}.png"
    args = ("plot", *map(str, runs), "--metric", metric, "--out", scratch_png)
    printed = rnnlab(*args).strip()
    image = checked_png(Path(scratch_png), GALLERY / scratch_png)
    return f"#### {dataset}: {metric} of {len(runs)} runs\n\n![{dataset} {metric}]({image})\n\n```text\n$ {command(*args)}\n{printed}\n```\n"


def gallery_block(sections: list[str]) -> str:
    return "<!-- gallery:start -->\n" + "\n".join(sections) + "<!-- gallery:end -->"


def update_readme(block: str) -> None:
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- gallery:start -->.*?<!-- gallery:end -->", flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: no <!-- gallery:start --> ... <!-- gallery:end --> markers to fill")
    README.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], help="override for every training, e.g. training.epochs=3"
    )
    parser.add_argument("--only", action="append", default=[], help="config stem to include (repeatable); default: all")
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="DATASET=PATH",
        help="local data for one dataset's configs, e.g. lyrics=../shared/data/jaychou_lyrics.txt.zip (repeatable)",
    )
    args = parser.parse_args(argv)
    data = dict(item.split("=", 1) for item in args.data)
    configs = gallery_configs(args.only)
    if not configs:
        print("no shipped configs for the gallery's datasets", file=sys.stderr)
        return 2
    GALLERY.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RNNLAB_QUIET", "1")
    with tempfile.TemporaryDirectory(prefix="rnnlab-gallery-") as scratch:
        work = Path(scratch) / "project"
        shutil.copytree(PROJECT / "configs", work / "configs")
        if (PROJECT.parent / "shared").is_dir():  # so ../shared/... paths read as they do from the project root
            (Path(scratch) / "shared").symlink_to(PROJECT.parent / "shared")
        os.chdir(work)
        sections, by_dataset = [], {}
        for config, dataset in configs:
            print(f"gallery: training {config.name}", file=sys.stderr)
            section, run = show_run(config, dataset, args.overrides, data)
            sections.append(section)
            by_dataset.setdefault(dataset, []).append(run)
        sections += [overlay(d, runs) for d, runs in by_dataset.items() if len(runs) > 1]
        table = rnnlab("runs").rstrip()
        table = "\n".join(line.rstrip() for line in table.splitlines())
        (GALLERY / "runs.txt").write_text(table + "\n", encoding="utf-8")
        sections.append(f"#### All runs\n\n```text\n$ rnnlab runs\n{table}\n```\n")
    update_readme(gallery_block(sections))
    print(f"gallery: wrote {GALLERY.relative_to(PROJECT)}/ and the block in {README.relative_to(PROJECT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
