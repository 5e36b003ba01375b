"""Token layout and the vectorised sampler of sequence classes (docs/THEORY.md §1).

Everything works on token *indices*.  Each class n has a support supp(n) of at most
``S`` contextual tokens; a batch is stored as per-class-support token counts
(``[B, S]``), never as a token sequence or a one-hot ``B × T × M`` tensor.  The attention over the
T−1 context positions only depends on these counts: softmax_t(z_{m,x_t}) summed per
token equals softmax_l(log count_l + z_ml) (§2, forward step 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .config import DataConfig

__all__ = ["Layout", "TOKEN_KINDS"]

#: kind of every token id, as reported by :attr:`Layout.token_kind`
TOKEN_KINDS = ("common", "distinct", "query", "next")


@dataclass(frozen=True)
class Layout:
    """The token layout of a :class:`DataConfig`.

    Attributes (numpy, for display and tests; torch copies live on the engine):
      M, K, Q: vocabulary size, classes, query tokens.
      psi[n]: query group of class n (query token id ``query_token[psi[n]]``).
      next_token[n]: token id of class n's next token (the label).
      support[n, s]: token id of the s-th contextual token of class n (padded with 0).
      support_prob[n, s]: P(l|n) for that token (0 on padding).
      support_distinct[n, s]: True where the token is a distinct token (|Ω(l)| = 1, §1).
      P: dense K × M matrix of P(l|n).
    Supports are ordered common tokens first, then distinct tokens by increasing P(l|n).
    """

    config: DataConfig

    # ------------------------------------------------------------------ sizes
    @property
    def M(self) -> int:
        return self.config.vocab_size

    @property
    def K(self) -> int:
        return self.config.num_classes

    @property
    def Q(self) -> int:
        return self.config.num_query

    @cached_property
    def psi(self) -> np.ndarray:
        return np.arange(self.K) // self.config.next_per_query

    @cached_property
    def _offsets(self) -> dict[str, int]:
        c = self.config
        o_group = c.common_global
        o_distinct = o_group + c.num_query * c.common_per_query
        o_query = o_distinct + self.K * c.distinct_per_class
        o_next = o_query + self.Q
        return {"group": o_group, "distinct": o_distinct, "query": o_query, "next": o_next}

    @cached_property
    def query_token(self) -> np.ndarray:
        return self._offsets["query"] + np.arange(self.Q)

    @cached_property
    def next_token(self) -> np.ndarray:
        return self._offsets["next"] + np.arange(self.K)

    # ------------------------------------------------------------------ P(l|n)
    @cached_property
    def P(self) -> np.ndarray:
        """Dense K × M matrix of P(l|n) (rows sum to 1)."""
        c, o = self.config, self._offsets
        w = np.zeros((self.K, self.M))
        w[:, : c.common_global] = c.common_weight
        for q in range(self.Q):  # per-group common tokens: a Q-long loop at construction only
            cols = slice(o["group"] + q * c.common_per_query, o["group"] + (q + 1) * c.common_per_query)
            w[self.psi == q, cols] = c.common_weight
        d = c.distinct_per_class
        distinct = np.array(c.distinct_weights, dtype=float) if c.distinct_weights is not None else np.tile(
            np.array(c.distinct_ramp()), (self.K, 1)
        )
        if d:
            cols = o["distinct"] + np.arange(self.K)[:, None] * d + np.arange(d)[None, :]
            w[np.arange(self.K)[:, None], cols] = distinct.reshape(self.K, d)
        return w / w.sum(axis=1, keepdims=True)

    @cached_property
    def omega(self) -> np.ndarray:
        """|Ω(l)|: number of classes whose support contains token l (§1)."""
        return (self.P > 0).sum(axis=0)

    @cached_property
    def token_kind(self) -> np.ndarray:
        """Kind of every token id: 'common' (|Ω|>1), 'distinct' (|Ω|=1), 'query', 'next'.

        Tokens of zero probability in every class (e.g. a zero weight) are labelled by
        their slot in the layout."""
        o = self._offsets
        kind = np.empty(self.M, dtype=object)
        kind[: o["distinct"]] = "common"
        kind[o["distinct"] : o["query"]] = "distinct"
        kind[o["query"] : o["next"]] = "query"
        kind[o["next"] :] = "next"
        in_support = self.omega > 0
        kind[in_support & (self.omega > 1)] = "common"
        kind[in_support & (self.omega == 1)] = "distinct"
        return kind

    @cached_property
    def _support(self) -> tuple[np.ndarray, np.ndarray]:
        """(support ids [K,S], probs [K,S]): common first, then by increasing P(l|n)."""
        present = self.P > 0
        S = int(present.sum(axis=1).max())
        is_common = self.omega > 1
        # sort key: common tokens first (by id), then distinct by probability, then id
        key = np.where(present, 0.0, np.inf) + np.where(is_common[None, :], -1.0, self.P)
        order = np.lexsort((np.broadcast_to(np.arange(self.M), key.shape), key), axis=1)[:, :S]
        probs = np.take_along_axis(self.P, order, axis=1)
        ids = np.where(probs > 0, order, 0)
        return ids, probs

    @property
    def support(self) -> np.ndarray:
        return self._support[0]

    @property
    def support_prob(self) -> np.ndarray:
        return self._support[1]

    @property
    def S(self) -> int:
        return self.support.shape[1]

    @cached_property
    def support_distinct(self) -> np.ndarray:
        return (self.support_prob > 0) & (self.omega[self.support] == 1)

    @cached_property
    def support_common(self) -> np.ndarray:
        return (self.support_prob > 0) & (self.omega[self.support] > 1)

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: np.random.Generator, batch: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``batch`` sequences of length ``seq_len`` = T (T−1 contextual tokens + query).

        Returns ``(classes [B], counts [B, S])``: ``counts[b, s]`` is how often token
        ``support[classes[b], s]`` appears among the T−1 contextual tokens.  Classes are
        uniform (P(n) = 1/K); contextual tokens are i.i.d. from P(·|n), so the counts are
        exactly Multinomial(T−1, P(·|n)) and are drawn as such: cost O(B·S), independent
        of T, and no token sequence is ever built.  Deterministic under ``rng``.
        """
        classes = rng.integers(self.K, size=batch)
        counts = rng.multinomial(seq_len - 1, self.support_prob[classes])
        return classes, counts
