"""Character vocabularies, shared by the datasets that read text one character at a time.

Ids follow sorted order, never the order a ``set`` happens to iterate in (which changes between
processes), and the vocabulary is saved with the run, so a character keeps its id in ``predict``.
"""

from __future__ import annotations

import numpy as np


def vocabulary(text: str) -> list[str]:
    """Every distinct character of ``text``, sorted: position = id."""
    return sorted(set(text))


def unknown(text: str, vocab: list[str]) -> list[str]:
    """The characters of ``text`` the vocabulary lacks, sorted, each once."""
    known = set(vocab)
    return sorted({c for c in text if c not in known})


def char_ids(text: str, vocab: list[str]) -> np.ndarray:
    """``text`` as int32 ids; every character must be in ``vocab`` (check with ``unknown`` first)."""
    index = {c: i for i, c in enumerate(vocab)}
    return np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))


def quoted(chars: list[str]) -> str:
    return ", ".join(map(repr, chars))
