"""Word vectors learned from the training texts themselves, to start an Embedding from
(``model.embedding_init: ppmi``).

A randomly started Embedding learns a word only from the labels of the few texts it appears in, so
a word seen in a handful of training reviews is fitted to those reviews (an actor's name, a title)
and a rarer word of opinion ("abysmal") barely moves from its random start. The company a word
keeps in the training texts says more: words used in the same contexts get similar vectors before
the first label is read. This is the count-based recipe of Levy, Goldberg and Dagan (2015):
co-occurrences within ``WINDOW`` tokens, weighted 1/distance; positive pointwise mutual information
with the word counts smoothed to the power ``CONTEXT_SMOOTHING`` (on both sides, so the matrix stays
symmetric); its top ``dim`` eigenvectors, each scaled by √λ, so that two words' dot product
approximates their PPMI. The largest eigenvalues, not the largest in size as an SVD would take: a
negative one would make words that never meet look alike. Only the training split is read, never
validation or test, so no label and no held-out text leaks in. The vectors are scaled to ``SCALE``
and then trained with the rest of the model.
"""

from __future__ import annotations

import numpy as np

WINDOW = 5
"""Tokens on each side that count as a word's context."""
CONTEXT_SMOOTHING = 0.75
"""Word counts are raised to this power before PMI: pairs of rare words stop dominating (Levy et al.)."""
SCALE = 0.05
"""Standard deviation of the vectors handed to the Embedding."""
DENSE_LIMIT = 1000
"""Vocabularies up to this size are decomposed densely (``eigh``); larger ones sparsely (ARPACK ``eigsh``)."""


def cooccurrence(
    ids: np.ndarray, vocab_size: int, skip: int | None, window: int = WINDOW
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric co-occurrence counts of the rows of ``ids``, as COO (row ids, column ids, weights):
    tokens ``d ≤ window`` apart count ``1/d``. ``skip`` (the padding id) is no token."""
    ids = np.asarray(ids, dtype=np.int64)
    keys, weights = [], []
    for d in range(1, min(window, ids.shape[1] - 1) + 1):
        left, right = ids[:, :-d].ravel(), ids[:, d:].ravel()
        kept = (left != skip) & (right != skip) if skip is not None else np.ones(left.shape, dtype=bool)
        left, right = left[kept], right[kept]
        keys += [left * vocab_size + right, right * vocab_size + left]
        weights += [np.full(2 * len(left), 1.0 / d)]
    if not keys:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate(weights))
    return unique // vocab_size, unique % vocab_size, counts


def ppmi(rows: np.ndarray, columns: np.ndarray, counts: np.ndarray, vocab_size: int) -> np.ndarray:
    """The positive PMI of each (row, column) pair, log p(i, j) / (p(i) p(j)) with both marginals
    smoothed (counts to the power ``CONTEXT_SMOOTHING``): symmetric, as the counts are."""
    marginal = np.bincount(rows, weights=counts, minlength=vocab_size) ** CONTEXT_SMOOTHING
    marginal /= marginal.sum()
    return np.maximum(np.log(counts / counts.sum() / (marginal[rows] * marginal[columns])), 0.0)


def ppmi_vectors(ids: np.ndarray, vocab_size: int, dim: int, *, skip: int | None, seed: int) -> np.ndarray:
    """``(vocab_size, dim)`` float32 word vectors from the token rows ``ids`` (the training split);
    a token never seen with a neighbour gets zeros. Deterministic for a given ``seed``."""
    from scipy import sparse
    from scipy.sparse.linalg import eigsh

    rows, columns, counts = cooccurrence(ids, vocab_size, skip)
    vectors = np.zeros((vocab_size, dim))
    seen = np.bincount(rows, minlength=vocab_size) > 0
    if seen.any():
        weights = ppmi(rows, columns, counts, vocab_size)
        matrix = sparse.csr_matrix((weights, (rows, columns)), shape=(vocab_size, vocab_size))
        rank = min(dim, vocab_size - 1)
        if vocab_size <= DENSE_LIMIT or rank >= vocab_size - 1:
            eigenvalues, u = np.linalg.eigh(matrix.toarray())
        else:
            start = np.random.default_rng(seed).uniform(size=vocab_size)
            eigenvalues, u = eigsh(matrix, k=rank, which="LA", v0=start)
        order = np.argsort(eigenvalues)[::-1][:rank]
        eigenvalues, u = np.maximum(eigenvalues[order], 0.0), u[:, order]
        u *= np.sign(u[np.abs(u).argmax(axis=0), np.arange(rank)])  # one sign per vector, fixed
        vectors[seen, :rank] = (u * np.sqrt(eigenvalues))[seen]
        vectors *= SCALE / max(float(vectors[seen].std()), 1e-12)
    return vectors.astype(np.float32)
