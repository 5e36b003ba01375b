"""Reference losses for the induction-heads study (docs/THEORY.md, "Induction heads: training"): what a model
that ignores the order would reach (the in-context unigram), and the Bayes-optimal prediction that knows the
true parents and the prior (the posterior mean of the sequence's own table)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .data import parent_index

__all__ = ["bayes_loss", "count_loss", "unigram_loss"]

EPSILON = 1e-6


def unigram_loss(tokens: np.ndarray) -> float:
    """Mean −log of the target's share among the sequence's inputs (the model with a = 0)."""
    inputs, target = tokens[:, :-1], tokens[:, -1]
    share = (inputs == target[:, None]).mean(axis=1)
    return float(-np.log(share + EPSILON).mean())


def bayes_loss(tokens: np.ndarray, parents: Sequence[int], vocab: int, alpha: float) -> float:
    """Mean −log of (n(y|z) + α) / (n(z) + dα): the counts of the target after the query's parent configuration z
    among the inputs' transitions, with the Dirichlet(α) prior (the posterior mean of the table's row)."""
    hits, seen = _counts(tokens, parents, vocab)
    return float(-np.log((hits + alpha) / (seen + vocab * alpha)).mean())


def count_loss(tokens: np.ndarray, parents: Sequence[int], vocab: int) -> float:
    """Mean −log(n(y|z) / n(z) + ε), the raw count estimator with the true parents and no prior (uniform where
    the query's configuration never occurred): what counting alone gives on one sequence."""
    hits, seen = _counts(tokens, parents, vocab)
    share = np.where(seen > 0, hits / np.maximum(seen, 1), 1.0 / vocab)
    return float(-np.log(share + EPSILON).mean())


def _counts(tokens: np.ndarray, parents: Sequence[int], vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """(n(y|z), n(z)) per sequence: how often the query's parent configuration z occurs among the transitions
    wholly inside the inputs x_1..x_L, and how often the target followed it."""
    n, total = tokens.shape
    length, start = total - 1, max(parents)
    counts = np.zeros((n, vocab ** len(parents), vocab))
    rows = np.arange(n)
    for t in range(start, length):  # 0-based t: the transition into x_{t+1}
        np.add.at(counts, (rows, parent_index(tokens, parents, t, vocab), tokens[:, t]), 1)
    row = counts[rows, parent_index(tokens, parents, length, vocab)]  # [n, vocab]
    return row[rows, tokens[:, length]], row.sum(axis=1)
