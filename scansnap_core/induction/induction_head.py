"""What the trained model should have become: the generalized induction head (GIH), and how close the second
layer's attention is to it (docs/THEORY.md, "Induction heads: the model").  The GIH predicts the next token
from the earlier positions whose parent history matches the query's: with distances S*, position l matches
when x_{l−s} = x_{L+1−s} for every s ∈ S*."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["copied_distances", "history_matches", "gih_probability"]


def history_matches(tokens: np.ndarray, distances: Sequence[int]) -> np.ndarray:
    """[N, L] bool: whether position l (1-based, inputs x_1..x_L) has the query slot's history at ``distances``
    (positions whose history starts before the sequence never match)."""
    n, total = tokens.shape
    length = total - 1
    inputs = tokens[:, :length]
    match = np.ones((n, length), dtype=bool)
    for s in distances:
        if s > length:
            return np.zeros((n, length), dtype=bool)
        query = inputs[:, length - s]  # x_{L+1−s}
        before = np.full((n, length), -1)
        before[:, s:] = inputs[:, : length - s]  # x_{l−s} for l > s
        match &= before == query[:, None]
    return match


def gih_probability(tokens: np.ndarray, distances: Sequence[int]) -> np.ndarray:
    """[N]: the GIH's probability of each sequence's target: its share among the matching positions' tokens
    (uniform over the vocabulary when nothing matches)."""
    match = history_matches(tokens, distances)
    inputs, target = tokens[:, :-1], tokens[:, -1]
    hits = (match & (inputs == target[:, None])).sum(axis=1)
    count = match.sum(axis=1)
    vocab = int(tokens.max()) + 1
    return np.where(count > 0, hits / np.maximum(count, 1), 1.0 / vocab)


def copied_distances(rpe: np.ndarray, heads: Sequence[int]) -> list[int]:
    """The distances (1-based) the given heads attend to most, from their softmax(w) rows [H, M]: the history
    a trained model matches on."""
    return sorted(int(np.argmax(rpe[h])) + 1 for h in heads)
