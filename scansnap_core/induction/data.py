"""n-gram Markov sequences with a transition table of their own (docs/THEORY.md, "Induction heads: data").

Each sequence n draws its table π_n(·|z) ~ Dirichlet(α·1_d) for every parent configuration z ∈ [d]^|P|, where
the parents are given as relative distances P (x_t depends on x_{t−p}, p ∈ P).  The first max(P) tokens are
uniform.  With ``mixture`` = λ the table is (1 − λ)·A(·|x_{t−1}) + λ·B(·|x_{t−1}, x_{t−2}) instead (P must be
{1, 2}): λ sets how much the second parent tells.  Generation loops over positions only; every step is
vectorised over the sequences.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["draw_tables", "parent_index", "sample_sequences"]


def parent_index(tokens: np.ndarray, parents: Sequence[int], t: int, vocab: int) -> np.ndarray:
    """The index of the parent configuration (x_{t−p})_{p∈P} of position ``t`` in every row of ``tokens``
    (mixed radix ``vocab``, the first parent most significant)."""
    index = np.zeros(tokens.shape[0], dtype=np.int64)
    for p in parents:
        index = index * vocab + tokens[:, t - p]
    return index


def draw_tables(rng: np.random.Generator, n: int, vocab: int, parents: Sequence[int], alpha: float,
                mixture: float | None = None) -> np.ndarray:
    """``n`` transition tables [n, vocab^|P|, vocab] from the prior (Dirichlet rows, or the mixture)."""
    if mixture is None:
        return rng.dirichlet(np.full(vocab, alpha), size=(n, vocab ** len(parents)))
    if tuple(parents) != (1, 2):
        raise ValueError("the mixture prior needs the parents {1, 2}")
    first = rng.dirichlet(np.full(vocab, alpha), size=(n, vocab))  # A(·|x_{t−1})
    both = rng.dirichlet(np.full(vocab, alpha), size=(n, vocab * vocab))  # B(·|x_{t−1}, x_{t−2})
    # configuration index = x_{t−1}·d + x_{t−2}: A depends on the first digit only
    return (1 - mixture) * np.repeat(first, vocab, axis=1) + mixture * both


def sample_sequences(rng: np.random.Generator, n: int, length: int, vocab: int, parents: Sequence[int], alpha: float,
                     mixture: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tokens [n, length + 1] int64, tables): ``length`` inputs per sequence and its target last."""
    tables = draw_tables(rng, n, vocab, parents, alpha, mixture)
    start = max(parents)
    tokens = np.empty((n, length + 1), dtype=np.int64)
    tokens[:, :start] = rng.integers(0, vocab, size=(n, start))
    rows = np.arange(n)
    for t in range(start, length + 1):
        probs = tables[rows, parent_index(tokens, parents, t, vocab)]  # [n, vocab]
        u = rng.random(n)[:, None]
        tokens[:, t] = np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), vocab - 1)
    return tokens, tables
