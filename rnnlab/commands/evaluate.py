"""``rnnlab evaluate``: the saved model's loss and metrics on its dataset's full test split, and the
dataset's own scores of it (``Dataset.report``: e.g. a classifier's per-class table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab.data import dataset
from rnnlab.data.contract import Prepared
from rnnlab.model.stepping import KerasPredictor
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.run.plots import pyplot
from rnnlab.train.pipeline import evaluate_split


def evaluate_report(target: str | Path, overrides: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """The test split in the source's order, batched as in training, through the saved ``model.keras``;
    the scores (Keras's, then the dataset's) and the dataset's result lines."""
    run = open_run(target, overrides)
    chosen = dataset(run.config.data.dataset)
    split = chosen.examples(run.config.data, run.state, "test")
    model = load_saved_model(run.files)
    scores = evaluate_split(model, split, run.config, run.spec)
    data = Prepared(spec=run.spec, train=split, test=split, state=run.state)
    report = chosen.report(run.config.data, data, KerasPredictor(model, run.spec, run.config.model.encoding))
    for figure in report.figures.values():  # the run folder keeps train's pictures; evaluate writes nothing
        pyplot().close(figure)
    return scores | {"test_samples": len(split), "run": str(run.files.root)} | report.metrics, report.lines


def evaluate_run(target: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    return evaluate_report(target, overrides)[0]
