"""Reference losses for the induction-heads study (docs/THEORY.md, "Induction heads: training"): what a model
that ignores the order would reach (the in-context unigram), and the Bayes-optimal prediction that knows the
true parents and the prior (the posterior mean of the sequence's own table)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .data import parent_index

__all__ = ["bayes_loss", "unigram_loss"]

EPSILON = 1e-6


def unigram_loss(tokens: np.ndarray) -> float:
    """Mean −log of the target's share among the sequence's inputs (the model with a = 0)."""
    inputs, target = tokens[:, :-1], tokens[:, -1]
    share = (inputs == target[:, None]).mean(axis=1)
    return float(-np.log(share + EPSILON).mean())


def bayes_loss(tokens: np.ndarray, parents: Sequence[int], vocab: int, alpha: float) -> float:
    """Mean −log of (n(y|z) + α) / (n(z) + dα): the counts of the target after the query's parent configuration z
    among the inputs' transitions, with the Dirichlet(α) prior (the posterior mean of the table's row)."""
    n, total = tokens.shape
    length, start = total - 1, max(parents)
    counts = np.zeros((n, vocab ** len(parents), vocab))
    rows = np.arange(n)
    for t in range(start, length):  # transitions wholly inside the inputs x_1..x_L (0-based t)
        np.add.at(counts, (rows, parent_index(tokens, parents, t, vocab), tokens[:, t]), 1)
    query = parent_index(tokens, parents, length, vocab)
    row = counts[rows, query]  # [n, vocab]
    posterior = (row[rows, tokens[:, length]] + alpha) / (row.sum(axis=1) + vocab * alpha)
    return float(-np.log(posterior).mean())
