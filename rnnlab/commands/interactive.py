"""Interactive ``predict`` on a terminal: a one-line banner, line editing and history through the
standard ``readline`` module, a clean newline when the session ends. Pipes never come here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

PROMPT = "input> "


def input_hint(run: Any) -> str:
    """What one input looks like, from the run's own vocabulary where it has one."""
    vocab = run.state.get("vocab") if isinstance(run.state, dict) else None
    window = getattr(run.config.data, "window", None)
    if isinstance(vocab, list) and vocab and all(isinstance(v, str) and len(v) == 1 for v in vocab[:200]):
        shown = "".join(vocab[:12]) + ("…" if len(vocab) > 12 else "")
        example = "".join(vocab[: window or min(5, len(vocab))])
        return f"characters from {shown!r}, e.g. {example}"
    if run.spec.token_input:
        return "a sentence of words"
    return "one sequence of numbers, as docs/datasets.md shows for this dataset"


def banner(run: Any) -> str:
    return f"Input: {input_hint(run)}, then Enter. Up/Down: history; Ctrl-D: end."


@contextlib.contextmanager
def line_editing() -> Iterator[None]:
    """``readline`` for ``input()`` (editing, in-session history), where the platform has it."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        yield
        return
    readline.clear_history()
    try:
        yield
    finally:
        readline.clear_history()


def terminal_lines(read: Callable[[str], str] = input, newline: Callable[[], None] = print) -> Iterator[str]:
    """Lines typed at the prompt until Ctrl-D (then a newline, so the shell's prompt starts clean);
    Ctrl-C drops the line being typed, like a shell."""
    with line_editing():
        while True:
            try:
                line = read(PROMPT)
            except EOFError:
                newline()
                return
            except KeyboardInterrupt:
                newline()
                continue
            if line.strip():
                yield line
