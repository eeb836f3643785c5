"""``rnnlab verify``: does Keras compute what the RNN equations say?

Each check runs one batch through a Keras model layer by layer and through the NumPy
implementation of the textbook equations (``rnnlab.model.numpy_engine``) with the same weights, and
reports per layer the largest absolute difference over every sample, step and unit. The lesson's
hand calculation is reproduced exactly, to the integer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.config import ModelConfig
from rnnlab.data.contract import TaskSpec
from rnnlab.errors import RunError
from rnnlab.model.builder import build_model, model_inputs
from rnnlab.model.numpy_engine import LayerWeights, Network, Unsupported, keras_layers, load_network
from rnnlab.run.opening import load_saved_model, open_run
from rnnlab.runtime import keras

DEFAULT_TOLERANCE = 1e-4
LESSON_KERNEL = [[1, 0, 2], [2, 1, 3]]
LESSON_RECURRENT = [[1, 2, 1], [1, 0, 1], [0, 1, 0]]
LESSON_BIAS = [0, 0, 1]
LESSON_INPUT = [[1, 3], [1, 1], [2, 3]]
LESSON_EXPECTED = [[7, 3, 12], [13, 27, 16], [48, 45, 54]]
GRID_LAYERS = ("simple_rnn", "lstm", "gru")
GRID_ENCODINGS = ("onehot", "embedding")
GRID_SHAPES = ((1, False), (2, True))


@dataclass(frozen=True)
class LayerCheck:
    name: str
    kind: str
    max_abs_diff: float
    worst_step: int | None
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.max_abs_diff <= self.tolerance)

    @property
    def line(self) -> str:
        where = f" (step {self.worst_step + 1})" if self.worst_step is not None else ""
        verdict = "ok" if self.passed else f"DIFFERS (tolerance {self.tolerance:g})"
        return f"{self.name} ({self.kind}): max |Keras − NumPy| = {self.max_abs_diff:.3g}{where}  {verdict}"


@dataclass(frozen=True)
class Check:
    title: str
    layers: list[LayerCheck]

    @property
    def passed(self) -> bool:
        return all(layer.passed for layer in self.layers)


@dataclass(frozen=True)
class LessonCheck:
    """The lesson's SimpleRNN(3) without activation, worked by hand, by Keras and by NumPy."""

    keras: list[list[float]]
    numpy: list[list[float]]
    expected: list[list[int]] = field(default_factory=lambda: LESSON_EXPECTED)

    @property
    def passed(self) -> bool:
        return self.keras == self.expected and self.numpy == self.expected

    def text(self) -> str:
        rows = [
            "Lesson: SimpleRNN(3), no activation, h_t = x_t W_x + h_{t-1} W_h + b",
            f"  W_x = {LESSON_KERNEL}   W_h = {LESSON_RECURRENT}   b = {LESSON_BIAS}",
            f"  x   = {LESSON_INPUT}",
            f"  by hand  {self.expected}",
            f"  Keras    {_integers(self.keras)}",
            f"  NumPy    {_integers(self.numpy)}",
            f"  {'exact match' if self.passed else 'MISMATCH'}",
        ]
        return "\n".join(rows)


@dataclass(frozen=True)
class Verification:
    checks: list[Check]
    lesson: LessonCheck | None = None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks) and (self.lesson is None or self.lesson.passed)

    def text(self) -> str:
        blocks = [self.lesson.text()] if self.lesson else []
        for check in self.checks:
            blocks.append("\n".join([check.title, *(f"  {layer.line}" for layer in check.layers)]))
        failed = [c.title for c in self.checks if not c.passed] + ([] if not self.lesson or self.lesson.passed else ["lesson"])
        count = len(self.checks) + (1 if self.lesson else 0)
        blocks.append(f"{count - len(failed)} of {count} checks agree." + (f" Differs: {', '.join(failed)}" if failed else ""))
        return "\n\n".join(blocks) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "lesson": None if self.lesson is None else {**asdict(self.lesson), "passed": self.lesson.passed},
            "checks": [
                {"title": c.title, "passed": c.passed, "layers": [{**asdict(l), "passed": l.passed} for l in c.layers]}
                for c in self.checks
            ],
        }


def _integers(matrix: list[list[float]]) -> list[list[float | int]]:
    return [[int(v) if float(v).is_integer() else v for v in row] for row in matrix]


def keras_outputs(model: Any, x: np.ndarray) -> list[np.ndarray]:
    """Each layer's output as Keras computes it, feeding the layers one by one."""
    found, y = [], x
    for layer in model.layers:
        y = layer(y)
        found.append(np.asarray(y, dtype=np.float64))
    return found


def layer_check(name: str, kind: str, ours: np.ndarray, theirs: np.ndarray, tolerance: float) -> LayerCheck:
    if ours.shape != theirs.shape:
        return LayerCheck(name, kind, float("inf"), None, tolerance)
    diff = np.abs(ours - theirs)
    worst = None
    if diff.ndim == 3 and diff.size and diff.max() > 0:
        worst = int(np.unravel_index(int(np.argmax(diff)), diff.shape)[1])
    return LayerCheck(name, kind, float(diff.max(initial=0.0)), worst, tolerance)


def compare(model: Any, x: np.ndarray, engine: Network | None = None, tolerance: float = DEFAULT_TOLERANCE) -> list[LayerCheck]:
    """Keras vs NumPy layer by layer for one batch; ``engine`` defaults to the model's own weights."""
    engine = engine or Network(keras_layers(model))
    theirs = keras_outputs(model, x)
    ours = engine.outputs(x)
    return [
        layer_check(layer.name, type(layer).__name__, mine, keras_out, tolerance)
        for layer, mine, keras_out in zip(model.layers, ours, theirs)
    ]


def lesson_check() -> LessonCheck:
    k = keras()
    layer = k.layers.SimpleRNN(3, activation=None, return_sequences=True, name="simple_rnn")
    model = k.Sequential([k.Input(shape=(3, 2)), layer])
    weights = [np.array(LESSON_KERNEL, np.float32), np.array(LESSON_RECURRENT, np.float32), np.array(LESSON_BIAS, np.float32)]
    layer.set_weights(weights)
    x = np.array([LESSON_INPUT], dtype=np.float32)
    by_keras = np.asarray(model(x))[0]
    by_numpy = Network([LayerWeights("SimpleRNN", layer.get_config(), weights)])(x)[0]
    return LessonCheck(by_keras.tolist(), by_numpy.tolist())


def random_weights(model: Any, rng: np.random.Generator) -> None:
    """Weights larger than Keras's initialisers, so the gates and activations leave their linear range."""
    for layer in model.layers:
        layer.set_weights([rng.normal(0.0, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])


def grid_model(layer: str, encoding: str, num_layers: int, bidirectional: bool, spec: TaskSpec) -> Any:
    shape = {"units": 4, "embedding_dim": 3, "num_layers": num_layers, "bidirectional": bidirectional}
    cfg = ModelConfig.model_validate({"layer": layer, "encoding": encoding, **shape})
    return build_model(cfg, spec)


def model_batch(spec: TaskSpec, encoding: str, rng: np.random.Generator, batch: int = 4, default_steps: int = 6) -> np.ndarray:
    """Random inputs of the model's shape: token ids (one-hot when the model reads one-hot) or features."""
    steps = spec.timesteps or default_steps
    if spec.token_input:
        return model_inputs(rng.integers(0, spec.vocab_size, size=(batch, steps)).astype(np.int32), spec, encoding)
    return rng.normal(0.0, 3.0, size=(batch, steps, spec.features or 1)).astype(np.float32)


def grid_checks(seed: int, tolerance: float) -> list[Check]:
    """SimpleRNN, LSTM and GRU; one-hot and Embedding inputs; one layer, and two stacked bidirectional."""
    keras().utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    spec = TaskSpec(kind="tagging", timesteps=5, vocab_size=6, num_classes=6)
    checks = []
    for layer in GRID_LAYERS:
        for encoding in GRID_ENCODINGS:
            for num_layers, bidirectional in GRID_SHAPES:
                model = grid_model(layer, encoding, num_layers, bidirectional, spec)
                random_weights(model, rng)
                shape = f"{num_layers} × Bidirectional" if bidirectional else f"{num_layers} layer"
                title = f"{layer}, {encoding}, {shape} (random weights, seed {seed})"
                checks.append(Check(title, compare(model, model_batch(spec, encoding, rng), tolerance=tolerance)))
    return checks


def run_check(run_dir: Path, seed: int, tolerance: float) -> Check:
    """A trained run's saved model against the NumPy engine loaded from its ``weights.npz``
    (the arrays ``predict`` uses), or from the model's own weights for runs without one."""
    run = open_run(run_dir)
    model = load_saved_model(run.files)
    exported = run.files.numpy_weights.is_file()
    try:
        engine = load_network(run.files.numpy_weights) if exported else Network(keras_layers(model))
    except Unsupported as exc:
        raise RunError(
            f"{run.files.root}: the NumPy reference does not implement {exc}; verify covers SimpleRNN, LSTM, GRU, "
            "Embedding, Dense, Dropout, GlobalMax/AveragePooling1D and Bidirectional"
        ) from None
    x = model_batch(run.spec, run.config.model.encoding, np.random.default_rng(seed))
    source = run.files.numpy_weights.name if exported else f"{run.files.model.name}'s weights"
    title = f"{run.files.root}: Keras {run.files.model.name} vs NumPy from {source} (random batch, seed {seed})"
    return Check(title, compare(model, x, engine, tolerance))


def verify(
    run_dir: Path | None = None, *, seed: int = 0, tolerance: float = DEFAULT_TOLERANCE, lesson_only: bool = False
) -> Verification:
    if run_dir is not None:
        return Verification([run_check(run_dir, seed, tolerance)])
    if lesson_only:
        return Verification([], lesson_check())
    return Verification(grid_checks(seed, tolerance), lesson_check())
