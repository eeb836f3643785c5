"""Keras's optimizers, each also counting what its steps' gradients were (``training.log_gradients``).

``Logged<Name>`` (e.g. ``LoggedAdam``) is Keras's own optimizer with one change: before ``apply``
hands the gradients on (where ``global_clipnorm`` clips them), it adds their global norm to four
non-trainable optimizer variables: steps, sum and largest norm, and steps whose norm was over
``global_clipnorm``. The updates happen inside the compiled train step, so they are exact with
``steps_per_execution > 1``; a callback reads and resets them once per epoch
(``rnnlab.train.callbacks.GradientLog``). The classes are registered serializables, so
``model.keras`` reloads with them (``rnnlab.model.layers.custom_objects``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()
ops = k.ops

TALLIES = ("steps", "norm_sum", "norm_max", "clipped")
"""The optimizer variables, in order: ``gradient_tallies`` holds them."""
KERAS_NAMES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamw": "AdamW"}
"""``training.optimizer`` → the Keras optimizer class it names."""


class GradientTallies:
    """The mixin of every ``Logged<Name>``: the tallies, built with the optimizer's own variables."""

    gradient_tallies: list[Any]
    global_clipnorm: float | None

    def build(self, variables: Any) -> None:
        super().build(variables)  # type: ignore[misc]
        self.gradient_tallies = [
            self.add_variable(shape=(), initializer="zeros", dtype="float32", name=f"gradient_{name}")  # type: ignore[attr-defined]
            for name in TALLIES
        ]

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        """Keras's ``apply``, after counting the global norm of ``grads`` as they arrive (before clipping)."""
        present = [g for g in grads if g is not None]
        norm = ops.sqrt(sum(ops.sum(ops.square(ops.cast(g, "float32"))) for g in present)) if present else None
        result = super().apply(grads, trainable_variables)  # type: ignore[misc]
        if norm is not None:
            steps, total, largest, clipped = self.gradient_tallies
            limit = self.global_clipnorm
            steps.assign_add(1.0)
            total.assign_add(norm)
            largest.assign(ops.maximum(largest, norm))
            clipped.assign_add(ops.cast(norm > limit, "float32") if limit else 0.0)
        return result


def logged(base: type) -> type:
    """``base`` with the tallies, registered as ``rnnlab>Logged<base>``."""
    cls = type(f"Logged{base.__name__}", (GradientTallies, base), {"__module__": __name__, "__doc__": base.__doc__})
    return k.saving.register_keras_serializable(package="rnnlab")(cls)


LOGGED: dict[str, type] = {name: logged(getattr(k.optimizers, name)) for name in KERAS_NAMES.values()}
"""Keras optimizer class name → its logged subclass."""


def epoch_tallies(optimizer: Any) -> dict[str, float] | None:
    """The steps, norm sum, largest norm and clipped steps counted since the last reset (None: not a logged optimizer)."""
    tallies = getattr(optimizer, "gradient_tallies", None)
    if tallies is None:
        return None
    return {name: float(variable.numpy()) for name, variable in zip(TALLIES, tallies)}


def reset_tallies(optimizer: Any) -> None:
    for variable in getattr(optimizer, "gradient_tallies", []):
        variable.assign(0.0)
