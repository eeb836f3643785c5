"""``rnnlab evaluate``: the saved model's loss and metrics on its dataset's full test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab.data import dataset
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.train.pipeline import evaluate_split


def evaluate_run(target: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """The test split in the source's order, batched as in training, through the saved ``model.keras``."""
    run = open_run(target, overrides)
    split = dataset(run.config.data.dataset).examples(run.config.data, run.state, "test")
    scores = evaluate_split(load_saved_model(run.files), split, run.config, run.spec)
    return scores | {"test_samples": len(split), "run": str(run.files.root)}
