"""The files of a run folder: their names, the readers of what training left there, the weights dump,
and the manifest that says they belong together.

No other module spells a run file's name; everything is written through ``rnnlab.atomic``, so a
crash leaves the old file or the new one, never half of one.

A finished run ends with ``manifest.json``, written last: the run's id and the size and sha256 of
every artifact. Whatever reads a run checks it first (``verified``), so a file that was damaged,
truncated or copied in from another run is refused by name instead of being trusted. While a run
trains, the manifest of the run it continues waits in ``.backup/``; the files training rewrites
(``history.csv`` grows, ``best.weights.h5`` improves) are the only ones it may not vouch for.
Run files are addressed by name only, and a link inside the folder is refused: nothing a run
folder holds can make rnnlab read or write elsewhere.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import atomic
from rnnlab.errors import RunError

DUMP_FULL_LIMIT = 100_000


@dataclass(frozen=True)
class RunFiles:
    """Every artifact's path, so no module spells a file name on its own."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def vocab(self) -> Path:
        return self.root / "vocab.json"

    @property
    def task(self) -> Path:
        return self.root / "task.json"

    @property
    def best_weights(self) -> Path:
        return self.root / "best.weights.h5"

    @property
    def model(self) -> Path:
        return self.root / "model.keras"

    @property
    def numpy_weights(self) -> Path:
        return self.root / "weights.npz"

    @property
    def history(self) -> Path:
        return self.root / "history.csv"

    @property
    def weights_dump(self) -> Path:
        return self.root / "weights.txt"

    @property
    def curves(self) -> Path:
        return self.root / "curves.png"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.txt"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def inspect(self) -> Path:
        """``rnnlab inspect``'s pictures (``InspectFiles``), unless ``--out`` puts them elsewhere."""
        return self.root / "inspect"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def backup(self) -> Path:
        return self.root / ".backup"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def base_manifest(self) -> Path:
        """The manifest of the finished run a training in progress continues (kept until it finishes)."""
        return self.backup / "manifest.json"

    @property
    def training_marker(self) -> Path:
        """``.backup/run.json``: the id of the run being trained; its presence means training is under way."""
        return self.backup / "run.json"

    def figure(self, name: str) -> Path:
        """A dataset's own picture (``Report.figures``), e.g. ``forecast.png``: a plain ``.png`` name."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.png", name) or name == self.curves.name:
            raise ValueError(f"{name!r} is not a figure name a dataset may write (lower-case letters, digits, _, .png)")
        return self.root / name

    def outputs(self) -> list[Path]:
        """Files a fresh run replaces (the config and vocabulary are rewritten first anyway)."""
        fixed = [self.best_weights, self.model, self.numpy_weights, self.history, self.weights_dump, self.curves]
        figures = sorted(p for p in self.root.glob("*.png") if p not in fixed) if self.root.is_dir() else []
        return [*fixed, *figures, self.metrics, self.summary]

    def artifacts(self) -> list[Path]:
        """What a finished run's manifest vouches for: every file training wrote that exists."""
        return [p for p in [self.config, self.vocab, self.task, *self.outputs()] if p.is_file()]

    def named(self, name: str) -> Path:
        """The run file a manifest names, refused unless it is one rnnlab writes (a plain name, never a path)."""
        known = {p.name for p in (self.config, self.vocab, self.task, *self.outputs())}
        if name in known or (re.fullmatch(r"[a-z][a-z0-9_]*\.png", name)):
            return self.root / name
        raise RunError(f"{self.manifest}: lists {name[:60]!r}, which is no run file; {FRESH}")


FRESH = "retrain with `rnnlab train CONFIG --fresh`"
RUN_ID = re.compile(r"[0-9a-f]{32}")
TEMPORARY = re.compile(r"\.[A-Za-z0-9_]+-[a-z0-9_]{8}(\.[A-Za-z0-9]+)+")
"""``rnnlab.atomic``'s temporary names (``.best-k2j4x_9q.weights.h5``), left behind only by a killed process."""


def file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def write_manifest(files: RunFiles, run_id: str) -> None:
    """The last file a finished run writes: it vouches for all the others."""
    entries = {p.name: file_digest(p) for p in files.artifacts()}
    atomic.write_json(files.manifest, {"format": 1, "run_id": run_id, "files": entries})


def read_manifest(files: RunFiles, path: Path) -> dict[str, Any]:
    """A manifest, its shape checked: ``{"format": 1, "run_id": hex, "files": {name: {bytes, sha256}}}``."""
    damaged = f"{path}: not a manifest rnnlab wrote; the run folder is damaged, {FRESH}"
    try:
        raw = json.loads(plain_file(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise RunError(damaged) from None
    if not isinstance(raw, dict) or raw.get("format") != 1 or not isinstance(raw.get("run_id"), str):
        raise RunError(damaged)
    entries = raw.get("files")
    if not RUN_ID.fullmatch(raw["run_id"]) or not isinstance(entries, dict) or files.config.name not in entries:
        raise RunError(damaged)
    for name, entry in entries.items():
        files.named(name)
        if not (
            isinstance(entry, dict)
            and type(entry.get("bytes")) is int
            and isinstance(entry.get("sha256"), str)
            and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        ):
            raise RunError(damaged)
    return raw


def plain_file(path: Path) -> Path:
    """``path``, refused when it is a link or anything but a regular file."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(mode):
        raise RunError(
            f"{path}: is a link; run folders hold plain files only (rnnlab never follows a link there): put the file itself there, or {FRESH}"
        )
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise RunError(f"{path}: not a regular file; run folders hold plain files only, {FRESH}")
    return path


def refuse_links(files: RunFiles) -> None:
    """No entry of the run folder or its backup may be a link (nor a FIFO or device)."""
    for folder in (files.root, files.backup):
        if folder.is_dir():
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                plain_file(Path(entry.path))


def verified(files: RunFiles, manifest: Path, *, training: bool = False) -> str:
    """The run id, once every file ``manifest`` lists matches it; ``training``: a run is under way, so
    ``history.csv`` need only start with what the manifest vouched for and ``best.weights.h5`` may
    have moved on. The caller (``vouched_run_id``) has refused links already."""
    raw = read_manifest(files, manifest)
    for name, entry in raw["files"].items():
        path = files.named(name)
        if training and path == files.best_weights:
            continue
        if not path.is_file():
            raise RunError(f"{path}: missing, though {manifest.name} lists it; restore the file, or {FRESH}")
        if training and path == files.history:
            if not prefix_matches(path, entry):
                raise RunError(f"{path}: no longer starts with the rows the finished run wrote; restore the file, or {FRESH}")
            continue
        if file_digest(path) != {"bytes": entry["bytes"], "sha256": entry["sha256"]}:
            raise RunError(
                f"{path}: changed since the run finished (its size or sha256 differs from {manifest.name}; a damaged "
                f"file or one from another run); restore it, or {FRESH}"
            )
    return str(raw["run_id"])


def vouched_run_id(files: RunFiles) -> str | None:
    """The id of the finished run the folder holds, its files checked against the manifest (or, while a
    continued training runs, against the finished run's manifest in the backup); ``None`` without one."""
    refuse_links(files)
    if files.manifest.is_file():
        return verified(files, files.manifest)
    if files.base_manifest.is_file():
        return verified(files, files.base_manifest, training=True)
    return None


def prefix_matches(path: Path, entry: dict[str, Any]) -> bool:
    with path.open("rb") as f:
        head = f.read(entry["bytes"])
    return len(head) == entry["bytes"] and hashlib.sha256(head).hexdigest() == entry["sha256"]


def training_run_id(files: RunFiles) -> str | None:
    """The id in ``.backup/run.json``, or ``None`` when no training is under way (or it predates the marker)."""
    try:
        raw = json.loads(plain_file(files.training_marker).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError):
        raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("run_id"), str) or not RUN_ID.fullmatch(raw["run_id"]):
        raise RunError(
            f"{files.training_marker}: not the marker rnnlab writes; the backup is damaged, pass --fresh to start over"
        )
    return str(raw["run_id"])


def stale_temporaries(files: RunFiles) -> list[Path]:
    """Half-written files a killed process left (its atomic writes' temporaries), to remove under the lock."""
    found = []
    for folder in (files.root, files.backup):
        if folder.is_dir():
            found += [p for p in folder.iterdir() if TEMPORARY.fullmatch(p.name) and not p.is_symlink() and p.is_file()]
    return sorted(found)


@dataclass(frozen=True)
class InspectFiles:
    """The pictures ``rnnlab inspect`` draws into its folder (``RunFiles.inspect`` or ``--out``)."""

    root: Path

    def hidden(self, layer: str) -> Path:
        return self.root / f"hidden_{safe_name(layer)}.png"

    def gates(self, layer: str) -> Path:
        return self.root / f"gates_{safe_name(layer)}.png"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs.png"

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings.png"

    @property
    def gradients(self) -> Path:
        return self.root / "gradients.png"


def safe_name(name: str) -> str:
    """A Keras layer name as a plain file-name part (``lstm_1``); anything else becomes ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower()) or "layer"


def read_history(path: Path) -> dict[str, list[float]]:
    """history.csv (Keras CSVLogger) as columns; the ``epoch`` column is 0-based."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(math.nan)
    return {k: v for k, v in columns.items() if not all(math.isnan(x) for x in v)}


def weights_dump(variables: list[tuple[str, np.ndarray]]) -> str:
    """The lesson's dump: each trainable variable's name, shape and values."""
    blocks = []
    with np.printoptions(threshold=DUMP_FULL_LIMIT + 1, linewidth=120, precision=6, suppress=True):
        for name, value in variables:
            header = f"{name}  shape={tuple(value.shape)}  dtype={value.dtype}"
            if value.size > DUMP_FULL_LIMIT:
                stats = f"min={value.min():.6g} max={value.max():.6g} mean={value.mean():.6g} std={value.std():.6g}"
                body = f"({value.size} values, too many to list; {stats}; full values in best.weights.h5)"
            else:
                body = np.array2string(value, separator=", ")
            blocks.append(f"{header}\n{body}\n")
    return "\n".join(blocks)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


GRADIENT_COLUMNS = ("grad_norm_mean", "grad_norm_max", "clip_rate")
"""history.csv columns of ``training.log_gradients``: facts about the optimisation, not metrics of the model."""

NOT_METRICS = ("epoch", "learning_rate", "lr", *GRADIENT_COLUMNS)
"""history.csv columns that are not the model's metrics: the epoch, the learning rate (``lr`` in older
Keras logs) and the gradient tallies; metrics.json's best and final values and ``rnnlab runs`` leave them out."""

MAXIMISED = ("accuracy", "auc", "precision", "recall")
"""Metrics where larger is better (also as ``val_…``); every other one, loss and perplexity included, is minimised."""


def monitor_mode(monitor: str) -> str:
    """``"max"`` or ``"min"``: the one rule for "better" that the checkpoint, early stopping, the
    metrics summary and ``rnnlab runs`` share."""
    return "max" if monitor.removeprefix("val_") in MAXIMISED else "min"


def best_index(values: list[float], monitor: str) -> int | None:
    """Position of the best finite value of ``monitor`` (the first of equals), or ``None``."""
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        return None
    pick = max if monitor_mode(monitor) == "max" else min
    return pick(finite, key=lambda pair: pair[0])[1]


def best_value(values: list[float], monitor: str) -> float | None:
    index = best_index(values, monitor)
    return None if index is None else values[index]
