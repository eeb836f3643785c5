"""``rnnlab evaluate``: the saved model's loss and metrics on its dataset's full test split (or on the
split the dataset has: validation tail, training data, named in the result), and the dataset's own
scores of a test split (``Dataset.report``: e.g. a classifier's per-class table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab.commands.splits import any_split
from rnnlab.data import dataset
from rnnlab.data.contract import Prepared
from rnnlab.model.stepping import KerasPredictor
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.run.plots import pyplot
from rnnlab.train.pipeline import evaluate_split


def evaluate_report(
    target: str | Path, overrides: tuple[str, ...] = (), split: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The split in the source's order, batched as in training, through the saved ``model.keras``;
    the scores (Keras's, then the dataset's for a test split) and the dataset's result lines.
    Keys: ``test_*`` for the test split, ``validation_*`` or ``train_*`` for the others, plus ``split``."""
    run = open_run(target, overrides)
    chosen = dataset(run.config.data.dataset)
    name, examples = any_split(chosen, run.config, run.state, split)
    model = load_saved_model(run.files)
    scores = evaluate_split(model, examples, run.config, run.spec)
    named = {f"{name}_{k.removeprefix('test_')}": v for k, v in scores.items()}
    result = named | {f"{name}_samples": len(examples), "split": name, "run": str(run.files.root)}
    if name != "test":
        return result, []
    data = Prepared(spec=run.spec, train=examples, test=examples, state=run.state)
    report = chosen.report(run.config.data, data, KerasPredictor(model, run.spec, run.config.model.encoding))
    for figure in report.figures.values():  # the run folder keeps train's pictures; evaluate writes nothing
        pyplot().close(figure)
    return result | report.metrics, report.lines


def evaluate_run(target: str | Path, overrides: tuple[str, ...] = (), split: str | None = None) -> dict[str, Any]:
    return evaluate_report(target, overrides, split)[0]
