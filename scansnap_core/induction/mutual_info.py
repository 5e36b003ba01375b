"""The χ² mutual information of every candidate parent set, from the prior (docs/THEORY.md, "Induction heads:
which parents are selected").

For a kernel π with stationary law μ, z = (x_{t−s})_{s∈S} and y = x_t:

    Ĩ(S) = Σ_z μ(z)² (Σ_y μ(y|z)² / μ(y) − 1)   (the modified one, which the selector maximises)
    I(S) = Σ_z μ(z)  (Σ_y μ(y|z)² / μ(y) − 1)   (the ordinary one, which only grows with S)

both averaged over kernels drawn from the prior.  The chain runs on the last R tokens (d^R states), all
kernels at once: power iteration for μ, then the joint law of (previous R tokens, y) marginalised onto S.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np

from .data import draw_tables, parent_index

__all__ = ["candidate_sets", "chi2_mutual_information"]


def candidate_sets(heads: int, degree: int) -> list[tuple[int, ...]]:
    """Every subset of the distances 1..heads with at most ``degree`` members, the empty set first."""
    return [s for size in range(degree + 1) for s in combinations(range(1, heads + 1), size)]


def chi2_mutual_information(rng: np.random.Generator, vocab: int, parents: Sequence[int], alpha: float,
                            sets: Sequence[tuple[int, ...]], kernels: int = 200, mixture: float | None = None,
                            iterations: int = 500, tolerance: float = 1e-12) -> tuple[dict, dict]:
    """({S: Ĩ(S)}, {S: I(S)}) for the candidate ``sets`` (tuples of distances), averaged over ``kernels``
    kernels drawn from the prior."""
    span = max(max(parents), max((max(s) for s in sets if s), default=1))  # R: the window the chain remembers
    states = vocab ** span
    digits = np.array(np.unravel_index(np.arange(states), (vocab,) * span)).T  # [states, R]: x_{t−R} … x_{t−1}
    tables = draw_tables(rng, kernels, vocab, parents, alpha, mixture)  # [K, configs, vocab]
    history = np.empty((states, span + 1), dtype=np.int64)  # the window, then a slot for y at column R
    history[:, :span] = digits
    config = parent_index(history, parents, span, vocab)  # column R − p holds x_{t−p}
    emit = tables[:, config, :]  # π(y | state) [K, states, vocab]
    # the next state drops the oldest token x_{t−R} and appends y: state q·d^{R−1} + r goes to r·d + y, so the
    # new mass of r·d + y sums the flow over the oldest token q
    stationary = np.full((kernels, states), 1.0 / states)
    for _ in range(iterations):
        flow = (stationary[:, :, None] * emit).reshape(kernels, vocab, states // vocab, vocab)
        previous, stationary = stationary, flow.sum(axis=1).reshape(kernels, states)
        if np.abs(stationary - previous).max() < tolerance:
            break
    joint = (stationary[:, :, None] * emit).reshape((kernels,) + (vocab,) * span + (vocab,))  # [K, x_{t−R}..x_{t−1}, y]
    marginal_y = joint.sum(axis=tuple(range(1, span + 1)))  # [K, vocab]
    modified, plain = {}, {}
    for s in sets:
        keep = {span - d + 1 for d in s}  # axis of x_{t−d} in joint (axis 0 is the kernel)
        joint_s = joint.sum(axis=tuple(a for a in range(1, span + 1) if a not in keep)).reshape(kernels, -1, vocab)
        mu_z = joint_s.sum(axis=2)  # [K, configs]
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = np.where(mu_z[:, :, None] > 0, joint_s / mu_z[:, :, None], 0.0)
            gain = (conditional ** 2 / marginal_y[:, None, :]).sum(axis=2) - 1.0  # [K, configs]
        modified[s] = float((mu_z ** 2 * gain).sum(axis=1).mean())
        plain[s] = float((mu_z * gain).sum(axis=1).mean())
    return modified, plain
