"""``rnnlab evaluate``: the saved model's loss and metrics on its dataset's full test split, or on the
split the dataset has (validation tail, training data), named in the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab.commands.splits import any_split
from rnnlab.data import dataset
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.train.pipeline import evaluate_split


def evaluate_run(target: str | Path, overrides: tuple[str, ...] = (), split: str | None = None) -> dict[str, Any]:
    """The split in the source's order, batched as in training, through the saved ``model.keras``.
    Keys: ``test_*`` scores for the test split, ``validation_*`` or ``train_*`` for the others."""
    run = open_run(target, overrides)
    name, examples = any_split(dataset(run.config.data.dataset), run.config, run.state, split)
    scores = evaluate_split(load_saved_model(run.files), examples, run.config, run.spec)
    named = {f"{name}_{k.removeprefix('test_')}": v for k, v in scores.items()}
    return named | {f"{name}_samples": len(examples), "split": name, "run": str(run.files.root)}
