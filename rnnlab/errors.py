"""The one exception family the CLI turns into a one-line message and exit code 2.

Anything else that escapes is a bug in rnnlab, not bad input, and is reported as such.
"""

from __future__ import annotations

import re


class RnnlabError(Exception):
    """Bad input from the user: the message says what, where, and how to fix it."""


class ConfigError(RnnlabError):
    """The YAML file or a --set override is not a valid config."""


class DataError(RnnlabError):
    """A dataset could not be found, read or encoded."""


class RunError(RnnlabError):
    """A run folder is missing, locked, or does not match the config."""


class Interrupted(RunError):
    """Training was stopped by Ctrl-C or SIGTERM; the message says how to resume."""

    exit_code = 130


QUOTED_LIMIT = 60
"""Characters of one quoted value (a prefix, a cell, a key) an error line echoes."""
LINE_LIMIT = 400
QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)")


def one_line(message: str) -> str:
    """``message`` as the CLI shows it: one line, never a wall of echoed input.

    A quoted value longer than ``QUOTED_LIMIT`` is cut in its middle, and a line still longer than
    ``LINE_LIMIT`` keeps its head (what and where) and its tail (how to fix)."""
    text = " ".join(message.split())
    text = QUOTED.sub(_cut_quoted, text)
    if len(text) <= LINE_LIMIT:
        return text
    head, tail = LINE_LIMIT * 2 // 3, LINE_LIMIT // 4
    return f"{text[:head]}… ({len(text) - head - tail:,} characters left out) …{text[-tail:]}"


def _cut_quoted(match: re.Match[str]) -> str:
    value = match.group(0)
    if len(value) <= QUOTED_LIMIT:
        return value
    keep = QUOTED_LIMIT // 2 - 2
    return f"{value[: keep + 1]}…{value[-keep - 1 :]} ({len(value) - 2:,} characters)"
