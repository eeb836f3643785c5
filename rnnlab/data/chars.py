"""Character vocabularies, shared by the datasets that read text one character at a time.

Ids follow sorted order, never the order a ``set`` happens to iterate in (which changes between
processes), and the vocabulary is saved with the run, so a character keeps its id in ``predict``.

A vocabulary counted with a ``min_count`` (``counted_vocabulary``) ends with ``UNKNOWN``: one id for
every character seen fewer than ``min_count`` times in the training text, and for every character
the training text lacks. Vocabularies without it (older runs, the small datasets) keep refusing
characters they lack.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

UNKNOWN = "<unk>"
"""The last entry of a counted vocabulary; five characters long, so never a character itself."""


def vocabulary(text: str) -> list[str]:
    """Every distinct character of ``text``, sorted: position = id."""
    return sorted(set(text))


def counted_vocabulary(text: str, min_count: int) -> list[str]:
    """The characters ``text`` holds at least ``min_count`` times, sorted, then ``UNKNOWN`` for the rest."""
    counts = Counter(text)
    return sorted(c for c, n in counts.items() if n >= min_count) + [UNKNOWN]


def unknown_id(vocab: list[str]) -> int | None:
    """The id rare and unseen characters map to, or None for a vocabulary without one."""
    return len(vocab) - 1 if vocab and vocab[-1] == UNKNOWN else None


def unknown(text: str, vocab: list[str]) -> list[str]:
    """The characters of ``text`` the vocabulary lacks, sorted, each once."""
    known = set(vocab)
    return sorted({c for c in text if c not in known})


def char_ids(text: str, vocab: list[str]) -> np.ndarray:
    """``text`` as int32 ids: a character ``vocab`` lacks becomes its ``UNKNOWN`` id; without one,
    every character must be in ``vocab`` (check with ``unknown`` first)."""
    index = {c: i for i, c in enumerate(vocab)}
    fallback = unknown_id(vocab)
    ids = (index[c] for c in text) if fallback is None else (index.get(c, fallback) for c in text)
    return np.fromiter(ids, dtype=np.int32, count=len(text))


def quoted(chars: list[str]) -> str:
    return ", ".join(map(repr, chars))
