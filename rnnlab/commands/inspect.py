"""See inside a trained run: what each recurrent layer does on one input, step by step, or where the
learned embedding puts each token (``rnnlab inspect``).

The input goes through the dataset's own ``predict``, so it is checked and encoded exactly as
``rnnlab predict`` would (the same messages for an unknown character or a wrong length), with a
``Predictor`` that keeps what the dataset handed the model. The NumPy engine then traces that
input: every layer's h_t and gates. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.commands.predict import RunPredictor
from rnnlab.data import dataset
from rnnlab.data.contract import Dataset, Prediction, TaskSpec
from rnnlab.errors import ConfigError, DataError, RnnlabError, RunError
from rnnlab.model.builder import PER_STEP_KINDS, model_inputs
from rnnlab.model.numpy_engine import Network, Trace, softmax
from rnnlab.run import inspect_plots
from rnnlab.run.files import InspectFiles
from rnnlab.run.opening import Run, open_run
from rnnlab.run.plots import check_overwrite, save_png

DEFAULT_TOP = 30
TOP_TOKENS = 5
"""A language model's picture shows this many likeliest next tokens per step."""
FULL_DISTRIBUTION = 10
"""A per-step task with at most this many classes shows all of them instead of the top ones."""
MAX_STEPS = 500
"""The longest input drawn when the model itself takes any length (one picture column per step)."""
SHOWN_CHARS = 40
JSON_DIGITS = 6
ONE_STEP = {"length": 1, "temperature": 0.0, "top_k": 0, "seed": None}
"""Generation parameters for the dataset's ``predict``: a language model reads the input and stops."""


class Recorder(RunPredictor):
    """The run's NumPy engine as the dataset contract's ``Predictor``, keeping what the dataset fed it:
    the batches given to ``model(x)`` and the ids stepped through one at a time (generation)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run, engine="numpy")
        self.batches: list[np.ndarray] = []
        self.stepped: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(np.asarray(x))
        return super().__call__(x)

    def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        self.stepped.append(np.asarray(ids))
        return super().step(ids, state)

    def network(self) -> Network:
        self._load()
        assert self._engine is not None
        return self._engine

    def recorded(self) -> np.ndarray:
        """The one input as the model read it: (1, steps) ids or (1, steps, features)."""
        if self.batches:
            return self.batches[0][:1]
        return np.concatenate(self.stepped)[None, :]


@dataclass
class Outputs:
    """What the network answered: per step (tagging, language model) or once (classifiers, regression)."""

    kind: str
    classes: list[str]
    values: np.ndarray

    @property
    def per_step(self) -> bool:
        return self.kind in PER_STEP_KINDS

    def top(self, k: int) -> list[list[dict[str, Any]]]:
        rows = self.values if self.per_step else self.values[None, :]
        best = np.argsort(-rows, axis=-1, kind="stable")[:, :k]
        return [
            [{"token": self.classes[i], "probability": round(float(p[i]), JSON_DIGITS)} for i in b] for p, b in zip(rows, best)
        ]

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "regression":
            return {"kind": self.kind, "values": rounded(self.values)}
        if self.kind == "language_model":
            return {"kind": self.kind, "top": self.top(TOP_TOKENS)}
        return {"kind": self.kind, "classes": self.classes, "probabilities": rounded(self.values)}


@dataclass
class Inspection:
    """One input traced through a run: the tokens read, every recurrent layer's trace, the answer."""

    run: Path
    text: str
    tokens: list[str]
    x: np.ndarray
    """The input as the model read it (before one-hot encoding): (1, steps) ids or (1, steps, features)."""
    prediction: Prediction
    traces: list[Trace]
    outputs: Outputs
    files: dict[Path, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": str(self.run),
            "input": self.text,
            "tokens": self.tokens,
            "prediction": self.prediction.record,
            "layers": [
                {
                    "layer": t.layer,
                    "kind": t.kind,
                    "direction": t.direction,
                    "units": int(t.h.shape[-1]),
                    "h": rounded(t.h[0]),
                    "gates": {name: rounded(g[0]) for name, g in t.gates.items()},
                }
                for t in self.traces
            ],
            "output": self.outputs.as_dict(),
            "files": [str(p) for p in self.files],
        }

    def text_lines(self) -> list[str]:
        return [f"Prediction: {self.prediction.line}", *written(self.files)]


@dataclass
class EmbeddingMap:
    """The Embedding table drawn in the plane: directly when 2-wide, else its first two principal components."""

    run: Path
    names: list[str]
    table: np.ndarray
    points: np.ndarray
    labelled: np.ndarray
    method: str
    explained: list[float] | None
    files: dict[Path, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": str(self.run),
            "embedding_dim": int(self.table.shape[1]),
            "method": self.method,
            "explained_variance": self.explained,
            "points": [
                {
                    "id": i,
                    "token": name,
                    "x": round(float(x), JSON_DIGITS),
                    "y": round(float(y), JSON_DIGITS),
                    "labelled": bool(shown),
                }
                for i, (name, (x, y), shown) in enumerate(zip(self.names, self.points, self.labelled))
            ],
            "files": [str(p) for p in self.files],
        }

    def text_lines(self) -> list[str]:
        return written(self.files)


@dataclass
class GradientCurve:
    """‖∂loss/∂h_t‖ over the time steps of one batch (``rnnlab.train.gradients``), and its picture."""

    run: Path
    layer: str
    split: str
    samples: int
    norms: np.ndarray
    files: dict[Path, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": str(self.run),
            "layer": self.layer,
            "split": self.split,
            "samples": self.samples,
            "gradient_norms": rounded(self.norms),
            "files": [str(p) for p in self.files],
        }

    def text_lines(self) -> list[str]:
        first, last = float(self.norms[0]), float(self.norms[-1])
        return [
            f"‖∂loss/∂h_t‖ of {self.layer} over {len(self.norms)} steps ({self.samples} {self.split} samples): "
            f"{last:.3g} at the last step, {first:.3g} at the first ({first / last if last else float('inf'):.3g}×)",
            *written(self.files),
        ]


def written(files: dict[Path, str]) -> list[str]:
    return [f"Wrote {path}: {what}" for path, what in files.items()]


def rounded(values: np.ndarray) -> Any:
    return np.round(np.asarray(values, dtype=np.float64), JSON_DIGITS).tolist()


def inspect_run(
    target: str | Path,
    text: str | None = None,
    *,
    embeddings: bool = False,
    top: int = DEFAULT_TOP,
    out: Path | None = None,
    overrides: tuple[str, ...] = (),
    gradients: bool = False,
) -> Inspection | EmbeddingMap | GradientCurve:
    """``rnnlab inspect``: one input's trace (``text``), the embedding (``embeddings``) or the gradient
    reaching each time step (``gradients``; the one mode that needs TensorFlow), drawn into ``out``
    (default the run folder's ``inspect/``)."""
    if (text is not None) + embeddings + gradients > 1:
        raise ConfigError("--input, --embeddings and --gradients draw different pictures; give one of them")
    if not embeddings and not gradients and text is None:
        raise ConfigError(
            "nothing to inspect; give --input TEXT (one input, as `rnnlab predict --prefix` takes it), --embeddings or --gradients"
        )
    if text is not None and not text.strip():
        raise DataError("--input is empty; give one input, as `rnnlab predict --prefix` takes it")
    run = open_run(target, overrides)
    folder = Path(out) if out is not None else run.files.inspect
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--out {folder}: a file, not a folder; give a folder for the pictures")
    files = InspectFiles(folder)
    if embeddings:
        return embedding_map(run, top, files)
    if gradients:
        return gradient_curve(run, files)
    assert text is not None
    return trace_input(run, text, files)


def trace_input(run: Run, text: str, files: InspectFiles) -> Inspection:
    data: Dataset = dataset(run.config.data.dataset)
    model = Recorder(run)
    prediction = data.predict(run.config.data, run.state, model, [text], dict(ONE_STEP))[0]
    x = model.recorded()
    check_length(x.shape[1], run.spec, text)
    traces, output = model.network().trace(model_inputs(x, run.spec, run.config.model.encoding))
    tokens = token_names(data, run.state, x[0].tolist()) if x.ndim == 2 else [str(t + 1) for t in range(x.shape[1])]
    found = Inspection(run.files.root, text.strip(), tokens, x, prediction, traces, outputs_of(data, run, output[0]))
    draw(found.files, pictures(found, files, f"run {run.files.root.name}, input '{shortened(text.strip())}'"))
    return found


def check_length(steps: int, spec: TaskSpec, text: str) -> None:
    if spec.timesteps is not None and steps > spec.timesteps:
        raise DataError(
            f"--input {shortened(text)!r}: {steps} steps, but this run's model reads at most {spec.timesteps}; "
            "give a shorter input"
        )
    if steps > MAX_STEPS:
        raise DataError(
            f"--input {shortened(text)!r}: {steps} steps, more than the {MAX_STEPS} a picture shows; give a shorter input"
        )


def shortened(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def token_names(data: Dataset, state: dict[str, Any], ids: list[int]) -> list[str]:
    """Ids as the dataset spells them: a character vocabulary's entries, else ``decode`` one id at a time."""
    vocab = state.get("vocab")
    if isinstance(vocab, list):
        return [str(vocab[i]) if 0 <= i < len(vocab) else str(i) for i in ids]
    return [decoded(data, state, i) for i in ids]


def decoded(data: Dataset, state: dict[str, Any], token: int) -> str:
    try:
        return data.decode(np.array([token]), state) or "[PAD]"
    except (RnnlabError, LookupError):
        return str(token)


def class_names(data: Dataset, state: dict[str, Any], count: int) -> list[str]:
    vocab = state.get("vocab")
    if isinstance(vocab, list) and len(vocab) == count:
        return [str(v) for v in vocab]
    return [data.label_name(i, state) for i in range(count)]


def outputs_of(data: Dataset, run: Run, output: np.ndarray) -> Outputs:
    """The network's last layer for one input as probabilities (logits through softmax, a sigmoid as two classes)."""
    kind = run.spec.kind
    if kind == "regression":
        names = ["value"] if output.size == 1 else [f"value {i + 1}" for i in range(output.size)]
        return Outputs(kind, names, output.reshape(-1))
    if kind == "binary":
        return Outputs(kind, class_names(data, run.state, 2), np.array([1.0 - output[0], output[0]]))
    values = softmax(output) if kind == "language_model" else output
    return Outputs(kind, class_names(data, run.state, values.shape[-1]), values)


Drawing = tuple[Path, str, Callable[[], Any]]
"""A picture to write: its path, what it shows (for the command's lines), and how to draw it."""


def pictures(found: Inspection, files: InspectFiles, title: str) -> list[Drawing]:
    """Per recurrent layer its h_t (and for LSTM/GRU its gates), then the answer."""
    drawings: list[Drawing] = []
    for layer in dict.fromkeys(t.layer for t in found.traces):
        traces = [t for t in found.traces if t.layer == layer]
        shape = f"{len(found.tokens)} step(s) × {traces[0].h.shape[-1]} units"
        drawings.append(
            (
                files.hidden(layer),
                f"h_t of {layer} ({traces[0].kind}), {shape}",
                partial(inspect_plots.hidden_figure, traces, found.tokens, title),
            )
        )
        if traces[0].gates:
            names = ", ".join(traces[0].gates)
            drawings.append(
                (files.gates(layer), f"{names} of {layer}", partial(inspect_plots.gates_figure, traces, found.tokens, title))
            )
    drawings.append(answer_drawing(found, files, title))
    return drawings


def answer_drawing(found: Inspection, files: InspectFiles, title: str) -> Drawing:
    outputs, tokens = found.outputs, found.tokens
    if outputs.per_step and len(outputs.classes) <= FULL_DISTRIBUTION:
        return (
            files.outputs,
            "the class distribution after each step",
            lambda: inspect_plots.distribution_figure(outputs.values, outputs.classes, tokens, title),
        )
    if outputs.per_step:
        return (
            files.outputs,
            f"the {TOP_TOKENS} likeliest next tokens after each step",
            lambda: inspect_plots.top_figure(outputs.values, outputs.classes, tokens, TOP_TOKENS, title),
        )
    if outputs.kind == "regression":
        what, axis, label = "the predicted value", "predicted value", "output"
    else:
        what, axis, label = "the class probabilities", "probability", "class"
    return (
        files.outputs,
        what,
        lambda: inspect_plots.bars_figure(outputs.values, outputs.classes, f"{title}\n{what} after the whole input", axis, label),
    )


def draw(files: dict[Path, str], drawings: list[Drawing]) -> None:
    """Write every picture, having first checked that none would replace a file inspect did not write."""
    for path, _, _ in drawings:
        check_overwrite(path, inspect_plots.INSPECT_WRITER)
    for path, what, make in drawings:
        save_png(make(), path, writer=inspect_plots.INSPECT_WRITER)
        files[path] = what


def embedding_map(run: Run, top: int, files: InspectFiles) -> EmbeddingMap:
    layer = Recorder(run).network().embedding()
    if layer is None:
        raise RunError(
            f"{run.files.root}: no Embedding layer to draw (model.encoding: {run.config.model.encoding}); "
            "train a run with model.encoding: embedding to learn one"
        )
    data: Dataset = dataset(run.config.data.dataset)
    table = layer.table
    names = token_names(data, run.state, list(range(len(table))))
    points, axes_names, method, explained = plane(table)
    labelled = np.arange(len(table)) < top
    ranked = frequency_ranked(run.state)
    how = f"{table.shape[1]}-D, drawn as learned" if method == "direct" else f"{table.shape[1]}-D, PCA to 2-D"
    title = f"run {run.files.root.name}: the learned embedding of {len(table)} tokens ({how})\n{labelled_note(top, len(table), ranked)}"
    found = EmbeddingMap(run.files.root, names, table, points, labelled, method, explained)
    figure = (
        files.embeddings,
        f"{len(table)} token vectors, {how}",
        lambda: inspect_plots.embedding_figure(points, names, labelled, title, axes_names),
    )
    draw(found.files, [figure])
    return found


def gradient_curve(run: Run, files: InspectFiles) -> GradientCurve:
    from rnnlab.run.plots import gradient_figure
    from rnnlab.train.gradients import run_hidden_gradients

    measured = run_hidden_gradients(run.files.root)
    found = GradientCurve(run.files.root, measured.layer, measured.split, measured.samples, measured.norms)
    label = f"{measured.run} ({measured.layer})"
    figure = (
        files.gradients,
        f"‖∂loss/∂h_t‖ over {len(measured.norms)} steps, {measured.samples} {measured.split} samples",
        lambda: gradient_figure({label: list(measured.norms)}),
    )
    draw(found.files, [figure])
    return found


def labelled_note(top: int, count: int, ranked: bool) -> str:
    if top >= count:
        return "every token labelled"
    return (
        f"the {top} most frequent tokens labelled"
        if ranked
        else f"the first {top} tokens of the vocabulary labelled (it is not ranked by frequency)"
    )


def frequency_ranked(state: dict[str, Any]) -> bool:
    """Word vocabularies (``vocabulary``: text datasets, IMDB's ranks) list the commonest word first;
    character vocabularies (``vocab``) are sorted by character."""
    return isinstance(state.get("vocabulary"), list)


def plane(table: np.ndarray) -> tuple[np.ndarray, list[str], str, list[float] | None]:
    """The vectors as 2-D points, the axes' names, ``direct`` or ``pca``, and PCA's share of the variance."""
    if table.shape[1] <= 2:
        points = table if table.shape[1] == 2 else np.column_stack([table[:, 0], np.zeros(len(table))])
        return points, ["dimension 1", "dimension 2" if table.shape[1] == 2 else "(one dimension only)"], "direct", None
    centred = table - table.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    power = singular**2
    share = (power / power.sum())[:2] if power.sum() > 0 else np.zeros(2)
    names = [f"principal component {i + 1} ({share[i]:.0%} of the variance)" for i in range(2)]
    return centred @ components[:2].T, names, "pca", [round(float(s), JSON_DIGITS) for s in share]
