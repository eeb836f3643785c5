"""The config schema: every section and key, with its default, bounds and meaning.

``extra="forbid"`` everywhere: an unknown key is an error, not silently ignored. The ``data``
section is the union of the registered datasets' ``Options``, told apart by ``data.dataset``.
The key descriptions are the documentation: ``rnnlab init`` and ``docs/configuration.md`` are
rendered from them.
"""

from __future__ import annotations

import functools
import operator
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rnnlab.data import option_classes

MAX_NAME = 100
"""Run folder names stay well inside every file system's 255-byte limit, with room for temporaries."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def only_for(section: str, key: str, field: str, allowed: tuple[str, ...], actual: str) -> None:
    """The one line for a key set where it has no effect: ``momentum is only for optimizer sgd or
    rmsprop (here 'adam'); remove training.momentum or set training.optimizer=sgd``."""
    if actual not in allowed:
        raise ValueError(
            f"{key} is only for {field} {' or '.join(allowed)} (here {actual!r}); "
            f"remove {section}.{key} or set {section}.{field}={allowed[0]}"
        )


class Section(BaseModel):
    """Unknown keys refused; numbers and booleans strict (``epochs: true`` or ``units: "8"`` is an
    error, not 1 or 8); no infinite or NaN numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Experiment(Section):
    name: str | None = Field(None, description="run folder name under output_root; defaults to the config file's stem")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="seeds Python, NumPy and TensorFlow: same seed, same metrics")
    output_root: str = Field("checkpoints", description="where run folders are created (relative to the working directory)")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str | None) -> str | None:
        if name is not None and len(name) > MAX_NAME:
            raise ValueError(f"run name is {len(name)} characters long; use at most {MAX_NAME}")
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
    embedding_dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="encoding embedding: drop whole tokens' vectors after the Embedding (Keras Dropout with noise_shape "
        "(batch, steps, 1)), so the model cannot lean on any one word",
    )
    embedding_init: Literal["random", "ppmi"] = Field(
        "random",
        description="encoding embedding: how the Embedding starts: random (Keras's uniform), or ppmi: word vectors "
        "computed from the training split's own texts (co-occurrence within 5 tokens, positive PMI, its top eigenvectors), "
        "then trained with the model",
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="input dropout of each recurrent layer")
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout on each recurrent layer's state h_{t-1}")
    bidirectional: bool = Field(False, description="wrap each recurrent layer in Bidirectional")
    pooling: Literal["last", "max", "mean"] = Field(
        "last",
        description="whole-sequence tasks: the head reads the last recurrent layer's final h_T (last), or its "
        "h_1..h_T pooled over time (max, mean: Keras GlobalMaxPooling1D / GlobalAveragePooling1D)",
    )
    output_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="dropout between the last recurrent layer (or its pooling) and the output layer"
    )
    output_bias: Literal["zeros", "prior"] = Field(
        "zeros",
        description="the output layer's starting bias: zeros (Keras), or prior: the training targets' log frequencies "
        "(classes, characters), log-odds (binary) or mean (regression), so training starts from the base rates",
    )
    forget_bias: float = Field(
        1.0,
        description="lstm: the forget gate's starting bias (Keras's unit_forget_bias is 1.0, σ(1) ≈ 0.73 kept per step); "
        "larger keeps the cell's past from the first epoch, for long dependencies",
    )

    @model_validator(mode="after")
    def _keys_need_their_layers(self) -> ModelConfig:
        if self.embedding_dropout:
            only_for("model", "embedding_dropout", "encoding", ("embedding",), self.encoding)
        if self.embedding_init != "random":
            only_for("model", "embedding_init", "encoding", ("embedding",), self.encoding)
        if self.forget_bias != 1.0:
            only_for("model", "forget_bias", "layer", ("lstm",), self.layer)
        return self


class EarlyStopping(Section):
    monitor: str = Field(
        "auto",
        description="metric to watch; auto = val_loss with validation data, else loss "
        "(val_cross_entropy / cross_entropy with training.label_smoothing)",
    )
    patience: int = Field(10, ge=0, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0.0, description="smallest change that counts as improvement")
    restore_best_weights: bool = Field(True, description="end with the best epoch's weights")


class Checkpoint(Section):
    monitor: str = Field("auto", description="metric that picks best.weights.h5; auto as for early_stopping")


class LrSchedule(Section):
    kind: Literal["reduce_on_plateau", "cosine", "exponential"] = Field(
        "reduce_on_plateau",
        description="reduce_on_plateau (Keras ReduceLROnPlateau), cosine or exponential (Keras CosineDecay / ExponentialDecay, per epoch)",
    )
    monitor: str = Field("auto", description="reduce_on_plateau: metric to watch; auto as for early_stopping")
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="reduce_on_plateau: multiply the learning rate by this on a plateau")
    patience: int = Field(5, ge=0, description="reduce_on_plateau: epochs without improvement before reducing")
    min_lr: float = Field(0.0, ge=0.0, description="reduce_on_plateau: lower bound of the learning rate")
    decay_epochs: int | None = Field(
        None,
        ge=1,
        description="cosine: epochs to decay over (default training.epochs); exponential: epochs per decay_rate (default 1)",
    )
    decay_rate: float = Field(0.95, gt=0.0, le=1.0, description="exponential: factor applied every decay_epochs")
    alpha: float = Field(0.0, ge=0.0, le=1.0, description="cosine: final learning rate as a fraction of learning_rate")


MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")


class Training(Section):
    optimizer: Literal["adam", "sgd", "rmsprop", "adagrad", "adamw"] = Field("adam", description="Keras optimizer")
    learning_rate: float = Field(0.001, gt=0.0, description="optimizer step size")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="momentum of sgd and rmsprop (Keras momentum)")
    batch_size: int = Field(32, ge=1, description="samples per gradient step: the global batch, split over all replicas")
    epochs: int = Field(10, ge=1, description="epochs per `rnnlab train` call (a re-run continues for as many more)")
    clipnorm: float | None = Field(None, gt=0.0, description="clip the global gradient norm to this (Keras global_clipnorm)")
    label_smoothing: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="softmax heads: train on each target mixed with the training targets' frequencies, "
        "(1 - ε)·one-hot + ε·prior; the logs add cross_entropy (and perplexity from it), the unsmoothed loss",
    )
    ema_momentum: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="keep an exponential moving average of the weights (Polyak averaging; Keras use_ema), updated "
        "every step with this momentum, e.g. 0.99; validation, best.weights.h5, early stopping and the saved model "
        "use the average, training steps the raw weights; null = off",
    )
    backup_interval_s: float = Field(
        0.0,
        ge=0.0,
        description="seconds between writes of the resumable backup (.backup/, also within an epoch) and of a new "
        "best.weights.h5; 0 = at every epoch's end only",
    )
    progress_interval_s: float = Field(
        30.0,
        ge=0.0,
        description="in a pipe or log: a line with the epoch's batch and loss this often within an epoch; 0 = off",
    )
    steps_per_execution: int = Field(
        1, ge=1, description="batches per compiled call (Keras steps_per_execution); saves per-batch overhead on small models"
    )
    jit_compile: bool | Literal["auto"] = Field(
        "auto", description="compile the training step with XLA (Keras jit_compile); auto = on a GPU, not on the CPU"
    )
    log_gradients: bool = Field(
        False,
        description="history.csv gets grad_norm_mean and grad_norm_max (the global gradient norm before clipping) "
        "and clip_rate (the fraction of steps clipnorm clipped) per epoch",
    )
    validation_split: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of training data held out for validation")
    early_stopping: EarlyStopping | None = Field(None, description="EarlyStopping settings, or off")
    checkpoint: Checkpoint = Field(default_factory=Checkpoint, description="ModelCheckpoint settings")
    tracking: Literal["none", "mlflow"] = Field(
        "none", description="mlflow: log params, per-epoch metrics and the run's files to MLFLOW_TRACKING_URI (the mlflow extra)"
    )
    lr_schedule: LrSchedule | None = Field(
        None, description="learning-rate schedule: reduce_on_plateau, cosine or exponential (or a mapping); logged per epoch"
    )
    tensorboard: bool = Field(False, description="write TensorBoard logs into the run folder (tensorboard/)")
    tensorboard_histogram_freq: int = Field(0, ge=0, description="with tensorboard: weight histograms every N epochs; 0 = off")
    distribute: Literal["none", "mirrored", "multi_worker"] = Field(
        "none", description="tf.distribute strategy: none, mirrored (this machine's devices) or multi_worker (TF_CONFIG)"
    )
    devices: int | None = Field(None, ge=1, description="mirrored over this many logical CPU devices instead of the visible GPUs")

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        if value is False or value in ("off", "none"):
            return None
        if value is True or value == "on":
            return {}
        return value

    @field_validator("lr_schedule", mode="before")
    @classmethod
    def _schedule_by_name(cls, value: Any) -> Any:
        if value is False or value in ("off", "none"):
            return None
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _momentum_needs_sgd_or_rmsprop(self) -> Training:
        if self.momentum:
            only_for("training", "momentum", "optimizer", MOMENTUM_OPTIMIZERS, self.optimizer)
        return self

    @model_validator(mode="after")
    def _gradients_on_one_device(self) -> Training:
        if self.log_gradients and self.distribute != "none":
            raise ValueError(
                f"log_gradients counts one device's steps and cannot follow distribute {self.distribute!r} yet; "
                "set training.log_gradients=false or training.distribute=none"
            )
        return self

    @model_validator(mode="after")
    def _devices_need_mirrored(self) -> Training:
        if self.devices is not None and self.distribute != "mirrored":
            raise ValueError(
                f"devices is only for distribute: mirrored (here {self.distribute!r}); "
                "set training.distribute=mirrored or remove training.devices"
            )
        return self


if TYPE_CHECKING:
    DataOptions = Any
else:
    DataOptions = Annotated[functools.reduce(operator.or_, option_classes()), Field(discriminator="dataset")]
"""The ``data:`` section: whichever registered dataset's ``Options`` its ``dataset`` key names."""


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
        """``output_root/name``, with ``~`` expanded (``output_root: ~/runs`` is the home folder's runs)."""
        return Path(self.experiment.output_root).expanduser() / self.name
