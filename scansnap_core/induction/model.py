"""The simplified two-layer transformer of the induction-heads study, computed through its kernel
(docs/THEORY.md, "Induction heads: the model").

Layer 1 has H position-only heads: head h at position i averages the one-hot tokens x_{i−j}, j = 1..M, with
weights softmax_j(w_{h,j}) over the valid j (i − j ≥ 1), and the result is normalised, ū_h(i).  The
normalised FFN forms a feature whose inner products are K(i, k) = Σ_S p_S Π_{h∈S} ⟨ū_h(i), ū_h(k)⟩ over head
subsets S with |S| ≤ D (p_S = c_S² / Σ c²).  Layer 2 attends from the query slot L+1 to l = 1..L with
softmax_l(a·K(L+1, l)) and outputs that mixture of the tokens x_l.

The tensor products are never built: ⟨u_h(i), u_h(k)⟩ = Σ_{j,j'} σ_{h,j}(i) σ_{h,j'}(k) 1{x_{i−j} = x_{k−j'}},
so the match indicators are computed once per dataset ([N, L, M, M]) and every step is a few einsums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

__all__ = ["Matches", "Params", "forward", "matches", "window_weights"]


@dataclass(frozen=True)
class Matches:
    """What a dataset contributes to every step (computed once): for N sequences of L inputs and a window M,
    ``query`` [N, L, M, M] = 1{x_{L+1−j} = x_{l−j'}} (the query slot's window against position l's),
    ``query_self`` [N, M, M] and ``self`` [N, L, M, M] = 1{x_{i−j} = x_{i−j'}} (for the norms),
    ``target`` [N, L] = 1{x_l = y}; invalid window entries (before the sequence starts) are 0.  ``inputs``
    [N, L] keeps the token ids (for the full prediction ŷ) and ``vocab`` their number."""

    query: torch.Tensor
    query_self: torch.Tensor
    self: torch.Tensor
    target: torch.Tensor
    inputs: torch.Tensor
    vocab: int


def matches(tokens: torch.Tensor, window: int, vocab: int | None = None) -> Matches:
    """The match indicators of ``tokens`` [N, L + 1] (inputs x_1..x_L, then the target) for a window M
    (``vocab``: the vocabulary's size, default the largest token + 1)."""
    n, total = tokens.shape
    length = total - 1
    inputs, target = tokens[:, :length], tokens[:, length]
    # back[n, i, j] = x_{i−j} for positions i = 1..L+1 and j = 1..M (−1 where i − j < 1)
    position = torch.arange(1, length + 2)[:, None] - torch.arange(1, window + 1)[None, :]  # [L+1, M], 1-based
    valid = position >= 1
    back = torch.where(valid, inputs[:, (position - 1).clamp(min=0)], torch.full((), -1))  # [N, L+1, M]

    def equal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a[..., :, None] == b[..., None, :]) & (a[..., :, None] >= 0) & (b[..., None, :] >= 0)).float()

    q = back[:, length]  # the query slot's window [N, M]
    return Matches(query=equal(q[:, None, :].expand(n, length, window), back[:, :length]),
                   query_self=equal(q, q), self=equal(back[:, :length], back[:, :length]),
                   target=(inputs == target[:, None]).float(), inputs=inputs, vocab=vocab or int(tokens.max()) + 1)


@dataclass
class Params:
    """RPE logits ``w`` [H, M], selector coefficients ``c`` [len(sets)] (one per head subset, the empty one
    included) and the classifier's scale ``a``."""

    w: torch.Tensor
    c: torch.Tensor
    a: torch.Tensor
    sets: tuple[tuple[int, ...], ...]  # head indices (0-based) of each selector coefficient

    @classmethod
    def init(cls, heads: int, window: int, sets: Sequence[tuple[int, ...]], w_plus: float = 2.0,
             w_minus: float = 0.1, c0: float = 0.01, a0: float = 0.01) -> "Params":
        """Head h starts out preferring distance h (w₊ there, w₋ elsewhere): that breaks the heads' symmetry."""
        w = torch.full((heads, window), w_minus)
        w[torch.arange(heads), torch.arange(heads)] = w_plus
        return cls(w.requires_grad_(), torch.full((len(sets),), c0).requires_grad_(),
                   torch.tensor(a0).requires_grad_(), tuple(tuple(s) for s in sets))

    @property
    def selector(self) -> torch.Tensor:
        """p_S = c_S² / Σ c² per subset."""
        c2 = self.c ** 2
        return c2 / c2.sum()


def window_weights(w: torch.Tensor, length: int) -> torch.Tensor:
    """σ [L+1, H, M]: each head's softmax over the valid distances j (i − j ≥ 1) at positions i = 1..L+1."""
    heads, window = w.shape
    valid = (torch.arange(1, length + 2)[:, None] - torch.arange(1, window + 1)[None, :]) >= 1  # [L+1, M]
    # a finite mask, then zero: a row with no valid distance (position 1) must not turn the gradient into NaN
    logits = torch.where(valid[:, None, :], w[None, :, :], torch.full((), -1e9))
    return torch.softmax(logits, dim=-1) * valid[:, None, :]


def forward(params: Params, m: Matches) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(probability of the target [N], the layer-2 attention [N, L], the kernel K(L+1, l) [N, L])."""
    n, length = m.target.shape
    sigma = window_weights(params.w, length)  # [L+1, H, M]
    at_query, at_l = sigma[length], sigma[:length]  # [H, M], [L, H, M]
    # the window weights of each pair (j, j') per position first ([L, H, M, M], small), then one batched
    # product per position with the indicators: the large tensors are touched once
    pair_query = at_query[None, :, :, None] * at_l[:, :, None, :]
    pair_self = at_l[:, :, :, None] * at_l[:, :, None, :]
    inner = torch.einsum("lhjk,nljk->nlh", pair_query, m.query)
    norm_l = torch.einsum("lhjk,nljk->nlh", pair_self, m.self)
    norm_query = torch.einsum("hj,hk,njk->nh", at_query, at_query, m.query_self)
    squared = norm_query[:, None, :] * norm_l
    # an empty window (position 1) has no direction: cosine 0; the clamp keeps sqrt's gradient finite there
    cosine = torch.where(squared > 0, inner / torch.sqrt(squared.clamp(min=1e-30)), torch.zeros(()))  # [N, L, H]
    per_head = cosine.unbind(-1)  # views: plain products below (indexing and prod cost more in the backward pass)
    selector = params.selector
    kernel = torch.zeros(n, length)
    for index, subset in enumerate(params.sets):
        term = selector[index]
        for h in subset:
            term = term * per_head[h]
        kernel = kernel + term
    attention = torch.softmax(params.a * kernel, dim=-1)
    return (attention * m.target).sum(dim=-1), attention, kernel
