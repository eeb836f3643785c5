"""The one custom layer: a SimpleRNN that reads one-hot characters as ids and gathers kernel rows.

A one-hot row times the input kernel *is* one row of that kernel, so instead of a
(batch × vocab) @ (vocab × units) product at every time step the layer gathers the rows of the
whole sequence at once, before the recurrence. Same variables (kernel vocab × units, recurrent
kernel, bias), same parameter count, same outputs as ``SimpleRNN`` on one-hot vectors; the
per-step loop is left with only the recurrent product. Imported only where Keras is loaded; the
loop itself is Keras's own (``rnnlab.private_api.keras_rnn_loop``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnlab.private_api import keras_rnn_loop
from rnnlab.runtime import keras

if TYPE_CHECKING:
    import keras as k
else:
    k = keras()
ops = k.ops


@k.saving.register_keras_serializable(package="rnnlab")
class OneHotSimpleRNN(k.layers.SimpleRNN):
    """``SimpleRNN`` on one-hot vectors of ``vocab_size``, fed the token ids instead."""

    def __init__(self, units: int, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.vocab_size = vocab_size
        self.input_spec = [k.InputSpec(ndim=2)]

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        super().build((*sequences_shape, self.vocab_size), initial_state_shape)

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: bool = False) -> Any:
        projected = ops.take(self.cell.kernel, ops.cast(sequences, "int32"), axis=0)
        if self.cell.bias is not None:
            projected = projected + self.cell.bias
        return super().call(projected, initial_state=initial_state, mask=mask, training=training)

    def inner_loop(self, sequences: Any, initial_state: Any, mask: Any, training: bool = False) -> Any:
        cell = self.cell

        def step(projected: Any, states: Any) -> tuple[Any, list[Any]]:
            output = cell.activation(projected + ops.matmul(states[0], cell.recurrent_kernel))
            return output, [output]

        return keras_rnn_loop()(
            step,
            sequences,
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state],
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}


def custom_objects() -> dict[str, Any]:
    """What ``model.keras`` may name besides Keras's own: this layer and the gradient-logging optimizers."""
    from rnnlab.model.losses import PriorSmoothedCrossentropy
    from rnnlab.model.optimizers import LOGGED

    return {
        "OneHotSimpleRNN": OneHotSimpleRNN,
        "PriorSmoothedCrossentropy": PriorSmoothedCrossentropy,
        **{cls.__name__: cls for cls in LOGGED.values()},
    }
