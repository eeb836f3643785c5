"""Keras's summary plus, per layer, the parameter formula with the numbers filled in.

Each formula is computed from the layer's own config and checked against ``count_params()``,
so a wrong formula can never be shown silently.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LayerParams:
    name: str
    kind: str
    formula: str
    params: int
    keras_params: int

    @property
    def line(self) -> str:
        if not self.params:
            return f"{self.name} ({self.kind}): no parameters"
        return f"{self.name} ({self.kind}): {self.formula} = {self.params:,}"


@dataclass(frozen=True)
class ModelSummary:
    layers: list[LayerParams]
    keras_text: str

    @property
    def total(self) -> int:
        return sum(layer.params for layer in self.layers)

    def text(self) -> str:
        lines = [self.keras_text.rstrip(), "", "Parameters per layer:"]
        lines += [f"  {layer.line}" for layer in self.layers]
        lines.append(f"  total = {self.total:,}")
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {"layers": [asdict(layer) for layer in self.layers], "total_params": self.total}


def input_width(layer: Any) -> int:
    return int(layer.input.shape[-1])


def layer_formula(layer: Any) -> tuple[str, int]:
    """(formula with numbers, parameter count) for one Keras layer."""
    kind = type(layer).__name__.removeprefix("OneHot")
    cfg = layer.get_config()
    if kind == "Bidirectional":
        inner, n = layer_formula(layer.forward_layer)
        return f"2 × [{inner}]", 2 * n
    if kind == "Embedding":
        v, e = cfg["input_dim"], cfg["output_dim"]
        return f"{v} × {e}", v * e
    if kind == "Dense":
        d, u = input_width(layer), cfg["units"]
        bias = u if cfg["use_bias"] else 0
        return (f"{d} × {u} + {u}" if bias else f"{d} × {u}"), d * u + bias
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        d, u = _recurrent_input_width(layer), cfg["units"]
        gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
        biases = 2 if kind == "GRU" and cfg.get("reset_after", True) else 1
        biases = biases if cfg["use_bias"] else 0
        factor = f"{gates} × " if gates > 1 else ""
        return f"{factor}{u} × ({d} + {u} + {biases})", gates * u * (d + u + biases)
    n = int(layer.count_params())
    return ("(no formula)" if n else "0"), n


def _recurrent_input_width(layer: Any) -> int:
    """The width a recurrent layer reads, also when it sits inside Bidirectional."""
    kernel = layer.cell.kernel
    return int(kernel.shape[0])


def summarize(model: Any) -> ModelSummary:
    buffer = io.StringIO()
    model.summary(print_fn=lambda line, *args, **kwargs: buffer.write(line + "\n"))
    layers = []
    for layer in model.layers:
        formula, n = layer_formula(layer)
        layers.append(LayerParams(layer.name, type(layer).__name__, formula, n, int(layer.count_params())))
    return ModelSummary(layers=layers, keras_text=buffer.getvalue())
