"""Cross-entropy with each target smoothed towards the training prior (``training.label_smoothing``).

Keras's own label smoothing (``CategoricalCrossentropy(label_smoothing=ε)``) mixes the one-hot
target with the *uniform* distribution, and its sparse loss has none. A character model on a small
corpus needs the other mixture: its trouble is the characters it saw a few times, to which it gives
almost nothing once it has memorised the training text. Mixing each target with the training
unigram, ``(1 − ε)·one_hot(y) + ε·prior``, is what an n-gram's back-off does, learnt instead of
added after the fact: the model keeps ε of its mass in the shape of the base rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()
ops = k.ops


@k.saving.register_keras_serializable(package="rnnlab")
class PriorSmoothedCrossentropy(k.losses.Loss):
    """``(1 − smoothing)·CE(y) + smoothing·CE(prior)`` per target, for integer targets.

    Args:
        prior: the distribution targets are smoothed towards, one probability per class
            (``builder.prior_bias`` frequencies of the training targets).
        smoothing: ε in [0, 1); 0 is plain sparse categorical cross-entropy.
        from_logits: ``y_pred`` are logits (a language model's head) rather than probabilities.
    """

    def __init__(
        self,
        prior: list[float],
        smoothing: float,
        from_logits: bool = False,
        name: str = "prior_smoothed_crossentropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.prior = [float(p) for p in prior]
        self.smoothing = float(smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.from_logits:
            log_p = ops.log_softmax(y_pred, axis=-1)
        else:
            log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        ids = ops.cast(y_true, "int32")
        if len(ids.shape) == len(log_p.shape):
            ids = ops.squeeze(ids, axis=-1)
        target = ops.take_along_axis(log_p, ops.expand_dims(ids, -1), axis=-1)[..., 0]
        prior = ops.cast(ops.convert_to_tensor(self.prior), log_p.dtype)
        return -(1.0 - self.smoothing) * target - self.smoothing * ops.sum(log_p * prior, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "prior": self.prior, "smoothing": self.smoothing, "from_logits": self.from_logits}
