"""YAML (plus ``--set`` overrides) → one validated ``Config``.

Every problem becomes a single ``ConfigError`` line naming the file (or the override), the
dotted key and the fix, with the closest valid key or value suggested.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rnnlab.datasets import DATASETS, option_classes
from rnnlab.errors import ConfigError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Experiment(Section):
    name: str | None = Field(None, description="run folder name under output_root; defaults to the config file's stem")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="seeds Python, NumPy and TensorFlow: same seed, same metrics")
    output_root: str = Field("checkpoints", description="where run folders are created (relative to the working directory)")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str | None) -> str | None:
        if name is not None and (not NAME_PATTERN.match(name) or ".." in name):
            raise ValueError(
                f"run name {name!r} must be a plain folder name (letters, digits, '_', '-', '.'), "
                "not a path; use e.g. 'alphabet_lstm'"
            )
        return name


class ModelConfig(Section):
    encoding: Literal["onehot", "embedding"] = Field("onehot", description="how token ids reach the first recurrent layer")
    embedding_dim: int = Field(8, ge=1, description="Embedding output size (encoding: embedding)")
    layer: Literal["simple_rnn", "lstm", "gru"] = Field("simple_rnn", description="recurrent layer type")
    units: int = Field(16, ge=1, description="hidden units per recurrent layer")
    num_layers: int = Field(1, ge=1, description="stacked recurrent layers; all but the last return sequences")
    activation: Literal["tanh", "relu", "sigmoid", "linear"] = Field("tanh", description="recurrent activation φ")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="input dropout of each recurrent layer")
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout on each recurrent layer's state h_{t-1}")
    bidirectional: bool = Field(False, description="wrap each recurrent layer in Bidirectional")


class EarlyStopping(Section):
    monitor: str = Field("auto", description="metric to watch; auto = val_loss with validation data, else loss")
    patience: int = Field(10, ge=0, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0.0, description="smallest change that counts as improvement")
    restore_best_weights: bool = Field(True, description="end with the best epoch's weights")


class Checkpoint(Section):
    monitor: str = Field("auto", description="metric that picks best.weights.h5; auto as for early_stopping")


MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")


class Training(Section):
    optimizer: Literal["adam", "sgd", "rmsprop", "adagrad", "adamw"] = Field("adam", description="Keras optimizer")
    learning_rate: float = Field(0.001, gt=0.0, description="optimizer step size")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="momentum of sgd and rmsprop (Keras momentum)")
    batch_size: int = Field(32, ge=1, description="samples per gradient step: the global batch, split over all replicas")
    epochs: int = Field(10, ge=1, description="epochs per `rnnlab train` call (a re-run continues for as many more)")
    clipnorm: float | None = Field(None, gt=0.0, description="clip the global gradient norm to this (Keras global_clipnorm)")
    backup_interval_s: float = Field(
        0.0, ge=0.0, description="seconds between writes of the resumable backup (backup/) and of a new best.weights.h5; 0 = every epoch"
    )
    steps_per_execution: int = Field(
        1, ge=1, description="batches per compiled call (Keras steps_per_execution); saves per-batch overhead on small models"
    )
    jit_compile: bool | Literal["auto"] = Field(
        "auto", description="compile the training step with XLA (Keras jit_compile); auto = on a GPU, not on the CPU"
    )
    validation_split: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of training data held out for validation")
    early_stopping: EarlyStopping | None = Field(None, description="EarlyStopping settings, or off")
    checkpoint: Checkpoint = Field(default_factory=Checkpoint, description="ModelCheckpoint settings")
    tensorboard: bool = Field(False, description="write TensorBoard logs into the run folder (tensorboard/)")
    tensorboard_histogram_freq: int = Field(0, ge=0, description="with tensorboard: weight histograms every N epochs; 0 = off")
    distribute: Literal["none", "mirrored", "multi_worker"] = Field(
        "none", description="tf.distribute strategy: none, mirrored (this machine's devices) or multi_worker (TF_CONFIG)"
    )
    devices: int | None = Field(
        None, ge=1, description="mirrored over this many logical CPU devices instead of the visible GPUs"
    )

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        if value is False or value in ("off", "none"):
            return None
        if value is True or value == "on":
            return {}
        return value

    @model_validator(mode="after")
    def _momentum_needs_sgd_or_rmsprop(self) -> "Training":
        if self.momentum and self.optimizer not in MOMENTUM_OPTIMIZERS:
            raise ValueError(
                f"momentum is only for optimizer sgd or rmsprop (here {self.optimizer!r}); "
                "remove training.momentum or set training.optimizer=sgd"
            )
        return self

    @model_validator(mode="after")
    def _devices_need_mirrored(self) -> "Training":
        if self.devices is not None and self.distribute != "mirrored":
            raise ValueError(
                f"devices is only for distribute: mirrored (here {self.distribute!r}); "
                "set training.distribute=mirrored or remove training.devices"
            )
        return self


DataOptions = Annotated[Union[tuple(option_classes())], Field(discriminator="dataset")]  # type: ignore[valid-type]


class Config(Section):
    experiment: Experiment = Field(default_factory=Experiment)
    data: DataOptions
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: Training = Field(default_factory=Training)

    @property
    def name(self) -> str:
        return self.experiment.name or "run"

    @property
    def run_dir(self) -> Path:
        return Path(self.experiment.output_root) / self.name


def parse_override(expression: str) -> tuple[list[str], Any]:
    """``training.epochs=5`` → (["training", "epochs"], 5), the value typed as YAML."""
    key, sep, raw = expression.partition("=")
    path = key.strip().split(".")
    if not sep or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in path):
        raise ConfigError(f"--set {expression!r}: expected KEY=VALUE with a dotted key, e.g. --set training.epochs=5")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {expression!r}: value is not valid YAML ({_yaml_problem(exc)}); quote it") from exc
    return path, value


def apply_override(raw: dict[str, Any], path: list[str], value: Any, expression: str) -> None:
    node = raw
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if child is None or child is False:
            child = node[part] = {}
        if not isinstance(child, dict):
            dotted = ".".join(path[: depth + 1])
            raise ConfigError(f"--set {expression!r}: {dotted} is a value, not a section; set {dotted}=... instead")
        node = child
    node[path[-1]] = value


def read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file; pass a .yaml file, e.g. configs/alphabet_onehot.yaml")
    if not path.is_file():
        hint = "" if path.suffix in (".yaml", ".yml") else " (configs are .yaml files, e.g. configs/alphabet_onehot.yaml)"
        raise ConfigError(f"{path}: config file not found{hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc}); check its permissions") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}; configs are plain YAML data, remove the tag") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error {_yaml_problem(exc)}; fix the indentation or quoting there") from exc
    if raw is None:
        raise ConfigError(f"{path}: file is empty; start from `rnnlab config configs/alphabet_onehot.yaml`")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (experiment, data, model, training), got {type(raw).__name__}")
    return raw


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    path = Path(path)
    raw = read_yaml(path)
    overridden: dict[tuple[str, ...], str] = {}
    for expression in overrides:
        keys, value = parse_override(expression)
        apply_override(raw, keys, value, expression)
        overridden[tuple(keys)] = expression
    return validate(raw, source=str(path), default_name=path.stem, overridden=overridden)


def validate(
    raw: dict[str, Any], *, source: str, default_name: str | None = None, overridden: dict[tuple[str, ...], str] | None = None
) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, raw, source, overridden or {})) from None
    if config.experiment.name is None and default_name is not None:
        try:
            config.experiment.name = Experiment._safe_name(default_name)
        except ValueError:
            raise ConfigError(
                f"{source}: file name {default_name!r} is not a valid run name; set experiment.name, e.g. 'my_run'"
            ) from None
    return config


def dump_config(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {problem}".strip(": ")


def _dotted(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """Drop pydantic's union tags (``data.alphabet.window`` → ``data.window``)."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "data" and parts[1] in DATASETS:
        del parts[1]
    return tuple(parts)


def _section_class(raw: dict[str, Any], keys: tuple[str, ...]) -> type[BaseModel] | None:
    cls: type[BaseModel] | None = Config
    for key in keys:
        if cls is None or key not in cls.model_fields:
            return None
        if cls is Config and key == "data":
            name = (raw.get("data") or {}).get("dataset") if isinstance(raw.get("data"), dict) else None
            cls = next((c for c in option_classes() if c.model_fields["dataset"].default == name), None)
            continue
        cls = _model_in(cls.model_fields[key].annotation)
    return cls


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return next((m for m in map(_model_in, typing.get_args(annotation)) if m), None)
    return None


def _closest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"did you mean {match[0]!r}?" if match else f"valid: {', '.join(choices)}"


def describe_error(exc: ValidationError, raw: dict[str, Any], source: str, overridden: dict[tuple[str, ...], str]) -> str:
    error = exc.errors()[0]
    keys = _dotted(error["loc"])
    dotted = ".".join(keys) or "(top level)"
    culprit = next((expr for k, expr in overridden.items() if k[: len(keys)] == keys), None)
    where = f"--set {culprit!r}" if culprit else source
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        section = _section_class(raw, keys[:-1])
        valid = sorted(section.model_fields) if section else []
        return f"{where}: unknown key {dotted!r}; {_closest(keys[-1], valid)}"
    if kind == "missing" and keys == ("data",):
        return f"{where}: missing section 'data'; add e.g. `data: {{dataset: alphabet}}` (datasets: {', '.join(DATASETS)})"
    if kind in ("union_tag_not_found", "missing") and keys[:1] == ("data",) and len(keys) <= 2:
        return f"{where}: data.dataset is required; one of {', '.join(DATASETS)}"
    if kind == "union_tag_invalid":
        tag = str(error.get("ctx", {}).get("tag", value))
        return f"{where}: data.dataset: unknown dataset {tag!r}; {_closest(tag, list(DATASETS))}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        return f"{where}: {dotted}: {value!r} is not allowed; {_closest(str(value), expected)}"
    if kind == "model_type" or kind == "dict_type":
        return f"{where}: {dotted} must be a section (a mapping of keys), got {value!r}"
    message = error["msg"].removeprefix("Value error, ")
    shown = "" if kind.startswith("value_error") or isinstance(value, dict) else f" (got {value!r})"
    return f"{where}: {dotted}: {message[0].lower() + message[1:]}{shown}"
