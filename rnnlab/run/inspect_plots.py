"""Pictures of what a trained network does on one input (``rnnlab inspect``): heatmaps of each
recurrent layer's hidden state and gates over the input's steps, the predicted distributions, and
the learned embedding as a labelled scatter.

Every function takes plain arrays and labels and returns a matplotlib ``Figure``; the command
saves it with ``save_png``. Token labels go through ``drawable`` so a character no installed font
has (Chinese without a CJK font) is written as its code point instead of an empty box.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnlab.model.numpy_engine import Trace
from rnnlab.run.plots import pyplot

INSPECT_WRITER = "rnnlab inspect"
BASE_FONT = "DejaVu Sans"
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
"""Fonts with Chinese glyphs, used after DejaVu Sans for the characters it lacks, where installed."""
ANNOTATED_CELLS = 200
"""Heatmaps of at most this many cells print each cell's value."""
GRID_WIDTH = 20.0
"""Inches a picture of several heatmaps side by side may take."""
MAX_TICKS = 60
"""Beyond this many steps, only every n-th step is labelled on the time axis."""
GATE_TITLES = {
    "input": "input gate i_t",
    "forget": "forget gate f_t",
    "output": "output gate o_t",
    "cell": "cell state c_t",
    "update": "update gate z_t",
    "reset": "reset gate r_t",
}
CANDIDATES = {"LSTM": "candidate cell c̃_t", "GRU": "candidate state h̃_t"}
UNIT_INTERVAL = ("input", "forget", "output", "update", "reset")
"""Gates that are a sigmoid, drawn on a fixed 0..1 scale; the others are centred on 0."""


@functools.cache
def font_families() -> list[str]:
    """DejaVu Sans, then every installed CJK fallback (matplotlib picks per glyph)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [BASE_FONT, *(name for name in CJK_FONTS if name in installed)]


@functools.cache
def known_codepoints() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    found: set[int] = set()
    for family in font_families():
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        found.update(FT2Font(path).get_charmap())
    return frozenset(found)


def drawable(text: str) -> str:
    """``text`` with a visible mark for a space and ``U+5206`` for a character no installed font draws."""
    known = known_codepoints()
    shown = text.replace(" ", "␣") if text.strip() == "" else text
    return "".join(c if ord(c) in known or c.isspace() else f"U+{ord(c):04X}" for c in shown)


def figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Any, Any]:
    plt = pyplot()
    plt.rcParams["font.family"] = font_families()
    return plt.subplots(rows, cols, figsize=(width, height), squeeze=False, layout="constrained")


def steps_width(steps: int, panels: int = 1) -> float:
    """Inches for a time axis of ``steps`` labelled cells, room for a colour bar included."""
    return float(np.clip(2.8 + 0.5 * steps, 6.0, 24.0 / panels))


def rows_height(rows: int) -> float:
    return float(np.clip(1.3 + 0.3 * rows, 2.4, 4.5))


def time_ticks(ax: Any, tokens: Sequence[str]) -> None:
    every = max(1, -(-len(tokens) // MAX_TICKS))
    positions = list(range(0, len(tokens), every))
    ax.set_xticks(positions, [drawable(tokens[i]) for i in positions], rotation=90 if every > 1 or len(tokens) > 20 else 0)
    ax.set_xlabel("input step (token read)")


def annotate(ax: Any, image: Any, matrix: np.ndarray, texts: list[list[str]] | None) -> None:
    """Each cell's value (or ``texts``) in black or white, whichever stands out on the cell's colour."""
    for r in range(matrix.shape[0]):
        for t in range(matrix.shape[1]):
            red, green, blue, _ = image.cmap(image.norm(matrix[r, t]))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            text = texts[r][t] if texts is not None else f"{matrix[r, t]:.2f}"
            ax.text(t, r, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")


def heatmap(
    fig: Any,
    ax: Any,
    matrix: np.ndarray,
    tokens: Sequence[str],
    title: str,
    *,
    ylabel: str,
    bounds: tuple[float, float],
    cmap: str,
    yticks: Sequence[str] | None = None,
    texts: list[list[str]] | None = None,
) -> None:
    """``matrix`` is (rows, steps): one column per input token."""
    image = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=bounds[0], vmax=bounds[1], interpolation="nearest")
    time_ticks(ax, tokens)
    if yticks is not None:
        ax.set_yticks(range(len(yticks)), [drawable(y) for y in yticks])
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(matrix.shape[0], 10)))
    ax.set_ylabel(ylabel)
    ax.set_title(drawable(title), fontsize=11)
    if texts is not None or matrix.size <= ANNOTATED_CELLS:
        annotate(ax, image, matrix, texts)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)


def centred(values: np.ndarray) -> tuple[float, float]:
    """A symmetric scale of at least -1..1 (tanh's range), wider when the values are."""
    reach = max(1.0, float(np.abs(values).max()) if values.size else 1.0)
    return -reach, reach


def direction_label(trace: Trace) -> str:
    return f" ({trace.direction})" if trace.direction else ""


def gate_title(name: str, trace: Trace) -> str:
    what = CANDIDATES.get(trace.kind, "candidate") if name == "candidate" else GATE_TITLES.get(name, name)
    return f"{what} of {trace.layer}{direction_label(trace)}"


def hidden_figure(traces: list[Trace], tokens: Sequence[str], title: str) -> Any:
    """One panel per direction: h_t of every unit (rows) after every step (columns)."""
    units = traces[0].h.shape[-1]
    fig, axes = figure(steps_width(len(tokens)), rows_height(units) * len(traces) + 0.8, rows=len(traces))
    for ax, trace in zip(axes[:, 0], traces):
        h = trace.h[0].T
        heatmap(
            fig,
            ax,
            h,
            tokens,
            f"hidden state h_t of {trace.layer}{direction_label(trace)}: {trace.kind}, {units} units",
            ylabel="unit",
            bounds=centred(h),
            cmap="RdBu_r",
        )
    fig.suptitle(drawable(title))
    return fig


def gates_figure(traces: list[Trace], tokens: Sequence[str], title: str) -> Any:
    """A grid of heatmaps, one per gate (Keras's order, the LSTM's cell state last): a Bidirectional
    layer's directions side by side, one gate per row; one direction's gates wrapped over the columns
    a readable width allows."""
    names = list(traces[0].gates)
    units = traces[0].h.shape[-1]
    width = steps_width(len(tokens), len(traces))
    panels = [(trace, name) for name in names for trace in traces]
    cols = len(traces) if len(traces) > 1 else max(1, min(len(names), int(GRID_WIDTH // width)))
    rows = -(-len(panels) // cols)
    fig, axes = figure(width * cols, rows_height(units) * rows + 0.6, rows=rows, cols=cols)
    for ax, (trace, name) in zip(axes.flat, panels):
        values = trace.gates[name][0].T
        unit_interval = name in UNIT_INTERVAL
        heatmap(
            fig,
            ax,
            values,
            tokens,
            gate_title(name, trace),
            ylabel="unit",
            bounds=(0.0, 1.0) if unit_interval else centred(values),
            cmap="viridis" if unit_interval else "RdBu_r",
        )
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(drawable(title))
    return fig


def distribution_figure(probabilities: np.ndarray, classes: Sequence[str], tokens: Sequence[str], title: str) -> Any:
    """Every class's probability (rows) after every step (columns): a tagger's per-step answer."""
    fig, axes = figure(steps_width(len(tokens)), rows_height(len(classes)) + 0.6)
    heatmap(
        fig,
        axes[0, 0],
        probabilities.T,
        tokens,
        "probability of each class after each step",
        ylabel="class",
        bounds=(0.0, 1.0),
        cmap="viridis",
        yticks=classes,
    )
    fig.suptitle(drawable(title))
    return fig


def top_figure(probabilities: np.ndarray, classes: Sequence[str], tokens: Sequence[str], k: int, title: str) -> Any:
    """A table: after each step (column) the k likeliest next tokens, best first, with their probabilities."""
    k = min(k, probabilities.shape[-1])
    best = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
    chosen = np.take_along_axis(probabilities, best, axis=-1).T
    texts = [[f"{drawable(classes[best[t, r]])}\n{chosen[r, t]:.2f}" for t in range(len(tokens))] for r in range(k)]
    fig, axes = figure(steps_width(len(tokens)) * 1.2, rows_height(k) * 1.6 + 0.6)
    heatmap(
        fig,
        axes[0, 0],
        chosen,
        tokens,
        f"the {k} likeliest next tokens after each step, and their probabilities",
        ylabel="rank",
        bounds=(0.0, max(0.05, float(chosen.max()))),
        cmap="Blues",
        yticks=[str(r + 1) for r in range(k)],
        texts=texts,
    )
    fig.suptitle(drawable(title))
    return fig


def bars_figure(values: np.ndarray, names: Sequence[str], title: str, xlabel: str, ylabel: str) -> Any:
    """The final answer: one bar per class (its probability) or per predicted value."""
    fig, axes = figure(7.0, float(np.clip(1.4 + 0.4 * len(names), 2.6, 9.0)))
    ax = axes[0, 0]
    positions = np.arange(len(names))
    ax.barh(positions, values, color="C0")
    ax.set_yticks(positions, [drawable(n) for n in names])
    ax.invert_yaxis()
    for y, value in zip(positions, values):
        ax.text(value, y, f" {value:.3f}", va="center", fontsize=9)
    if xlabel == "probability":
        ax.set_xlim(0, 1.12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(drawable(title), fontsize=11)
    return fig


def embedding_figure(
    points: np.ndarray, names: Sequence[str], labelled: np.ndarray, title: str, axes_names: Sequence[str]
) -> Any:
    """Every token's vector as a point; the ``labelled`` ones marked and named."""
    fig, axes = figure(7.5, 6.5)
    ax = axes[0, 0]
    rest = ~labelled
    if rest.any():
        ax.scatter(points[rest, 0], points[rest, 1], s=8, color="0.7", label="other tokens")
    ax.scatter(points[labelled, 0], points[labelled, 1], s=36, color="C0", label="labelled tokens" if rest.any() else None)
    for i in np.flatnonzero(labelled).tolist():
        ax.annotate(drawable(names[i]), points[i], xytext=(4, 4), textcoords="offset points", fontsize=11)
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.15)
    ax.grid(alpha=0.3)
    if rest.any():
        ax.legend(loc="best", fontsize=9)
    ax.set_title(drawable(title), fontsize=11)
    return fig
