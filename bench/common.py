"""Shared pieces of the benchmarks: where the real data is, timing, peak memory, the table."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SHARED_DATA_ENV = "RNNLAB_SHARED_DATA"
SHARED_DATA = Path(os.environ.get(SHARED_DATA_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "data").expanduser()
"""The real data: ``$RNNLAB_SHARED_DATA``, else ``../shared/data`` beside the checkout."""


def shared_file(name: str) -> Path | None:
    path = SHARED_DATA / name
    return path if path.is_file() else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def epoch_clock(
    walls: list[float],
    cpus: list[float],
    *,
    turn: Callable[[str], None] | None = None,
    every: int = 0,
    waited: Callable[[], float] = lambda: 0.0,
) -> Any:
    """A Keras callback appending each epoch's seconds of work to ``walls`` and its CPU seconds (all
    threads) to ``cpus``: a slow epoch with the usual CPU time was kept off the cores, one with more
    CPU time did more work. With ``turn``, it takes a turn at each epoch's start and every ``every``
    batches, and leaves the seconds ``waited`` for turns out of the epoch's."""
    from rnnlab.runtime import keras

    marks: list[float] = []

    def begin(epoch: int, logs: Any) -> None:
        if turn:
            turn("epoch")
        marks[:] = [time.perf_counter() - waited(), time.process_time()]

    def batch(step: int, logs: Any) -> None:
        if turn and every and step and step % every == 0:
            turn("batch")

    def end(epoch: int, logs: Any) -> None:
        walls.append(time.perf_counter() - waited() - marks[0])
        cpus.append(time.process_time() - marks[1])

    return keras().callbacks.LambdaCallback(on_epoch_begin=begin, on_train_batch_begin=batch, on_epoch_end=end)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain fixed-width table: one row per contender, one column per figure."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
