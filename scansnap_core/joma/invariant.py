"""Demo 1: the JoMA invariant, checked on a trained model (docs/THEORY.md, "JoMA: the invariant").

One query token attends over M_c contextual tokens with trainable logits z (one per token); class k's context
has token frequencies x = X[:, k].  The attention output b (softmax, exp or linear in z), the query's embedding
and the residual make f = U_C b + u_q; an MLP (linear, or a ReLU layer and a linear readout) predicts the class.
Full-batch SGD at one rate for z and the MLP.  Along gradient flow z is a function of the MLP's lower weights
v_k = U_Cᵀ w_k:

    exp:     z = (1/2T) Σ_k v_k∘v_k + c                               (exact)
    softmax: z ≈ (1/2T) Σ_k (v_k∘v_k − ‖v_k‖² b̄) + c,  b̄ = E[b] ≈ x̄   (b̄ held fixed)
    linear:  z∘z = Σ_k v_k∘v_k + c

with c fixed at t = 0.  The run records NC(z, ẑ) (cosine of the mean-centred vectors) every step: 1 means the
logits are the invariant's function of the weights, up to scale.  U_C = e_1..e_{M_c} and u_q = e_{M_c+1}, so f is
b, then a 1, then zeros; every class is one row of a batch (no per-class loop).
"""

from __future__ import annotations

import numpy as np
import torch

from ..lab.trainable import FixedConfigEngine, Plan, StepView
from .config import InvariantConfig
from .reduced import entropy_of

__all__ = ["InvariantEngine", "InvariantView", "class_distributions", "normalised_correlation", "plan_invariant"]

#: embedding dimensions beyond the contextual tokens and the query's (d = M_c + 1 + EXTRA_DIMS)
EXTRA_DIMS = 9
#: V = U_Cᵀ W is kept at about this many steps of a run (for its heatmap and replay)
V_SNAPSHOTS = 400


def class_distributions(config: InvariantConfig) -> np.ndarray:
    """X [M_c, K]: column k is class k's token distribution.  Distinct token i gets exp(−(i − k·M_d/K)²/30)
    ('gaussian') or a uniform weight ('random'); common tokens get U(0, 0.5) weights; columns sum to 1."""
    rng = np.random.default_rng(config.seed)
    m_d, k = config.distinct, config.classes
    if config.data == "gaussian":
        distinct = np.exp(-(np.arange(m_d)[:, None] - np.arange(k)[None, :] * m_d / k) ** 2 / 30)
    else:
        distinct = rng.uniform(0, 1, (m_d, k))
    common = rng.uniform(0, 0.5, (config.common, k))
    x = np.vstack([distinct, common])
    return x / x.sum(axis=0, keepdims=True)


def normalised_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NC(a, b) over the last axis: the cosine of the mean-centred vectors."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.where(norm > 0, (a * b).sum(axis=-1) / np.where(norm > 0, norm, 1.0), 1.0)


class _Model:
    """The parameters and the forward pass (every class at once)."""

    def __init__(self, config: InvariantConfig, x: np.ndarray):
        gen = torch.Generator().manual_seed(config.seed)
        c, m_c = config, config.tokens
        self.config, self.dim = c, m_c + 1 + EXTRA_DIMS
        self.x = torch.tensor(x.T, dtype=torch.float64)  # [K, M_c]
        z = torch.randn(m_c, generator=gen, dtype=torch.float64) / 100
        self.z = (z + 1.0 if c.attention == "linear" else z).requires_grad_()
        units = c.hidden if c.mlp == "relu" else c.classes
        self.w = (torch.randn(self.dim, units, generator=gen, dtype=torch.float64) / 100).requires_grad_()
        self.readout = ((torch.randn(units, c.classes, generator=gen, dtype=torch.float64) / units ** 0.5)
                        .requires_grad_() if c.mlp == "relu" else None)  # readout
        self.labels = torch.arange(c.classes)

    @property
    def parameters(self) -> list[torch.Tensor]:
        return [p for p in (self.z, self.w, self.readout) if p is not None]

    def attention(self) -> torch.Tensor:
        """b [K, M_c] for every class."""
        c, x = self.config, self.x
        if c.attention == "linear":
            return x * self.z
        weighted = x * torch.exp(self.z / c.temperature)
        return weighted if c.attention == "exp" else weighted / weighted.sum(dim=1, keepdim=True)

    def loss(self) -> tuple[torch.Tensor, torch.Tensor]:
        b = self.attention()
        f = torch.cat([b, torch.ones(b.shape[0], 1, dtype=b.dtype), torch.zeros(b.shape[0], EXTRA_DIMS,
                                                                                  dtype=b.dtype)], dim=1)
        if self.config.layernorm:
            f = torch.nn.functional.layer_norm(f, (self.dim,))
        h = f @ self.w
        logits = torch.relu(h) @ self.readout if self.readout is not None else h
        return torch.nn.functional.cross_entropy(logits, self.labels), b


class InvariantView(StepView):
    """The run at ``step``: per step the logits z, the invariant's ẑ and the NC between them (and of each of the
    softmax invariant's two terms alone), the attention's entropy, the mean logit of distinct and common tokens,
    the loss and one unit's v(t); V = U_Cᵀ W at the snapshots."""

    def __init__(self, config, x, step, z, predicted, terms, entropy, loss, v_unit, snapshot_steps, snapshots):
        self.config, self.x, self.step = config, x, step
        self.z, self.predicted, self.terms = z, predicted, terms  # [T+1, M_c], [T+1, M_c], [T+1, 2, M_c]
        self.entropy, self.loss, self.v_unit = entropy, loss, v_unit
        self.snapshot_steps, self.snapshots = snapshot_steps, snapshots

    def upto(self, step: int) -> "InvariantView":
        keep = self.snapshot_steps <= step
        return InvariantView(self.config, self.x, step, self.z[: step + 1], self.predicted[: step + 1],
                             self.terms[: step + 1], self.entropy[: step + 1], self.loss[: step + 1],
                             self.v_unit[: step + 1], self.snapshot_steps[keep], self.snapshots[keep])

    @property
    def compared(self) -> np.ndarray:
        """What the invariant is about: z, or z∘z for linear attention."""
        return self.z ** 2 if self.config.attention == "linear" else self.z

    @property
    def nc(self) -> np.ndarray:
        return normalised_correlation(self.compared, self.predicted)

    @property
    def nc_terms(self) -> np.ndarray:
        """[T+1, 2]: NC with each term of the softmax invariant alone (plus c)."""
        return normalised_correlation(self.compared[:, None, :], self.terms)

    @property
    def mean_logits(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean z over distinct tokens, mean z over common tokens) per step."""
        d = self.config.distinct
        common = self.z[:, d:].mean(axis=1) if self.config.common else np.full(self.step + 1, np.nan)
        return self.z[:, :d].mean(axis=1), common


class InvariantEngine(FixedConfigEngine):
    """Full-batch SGD on Demo 1's model, one step per :meth:`step`, recording what the invariant needs."""

    def __init__(self, config: InvariantConfig):
        super().__init__(config, plan_invariant(config))
        self.x = class_distributions(config)
        self.model = _Model(config, self.x)
        t, m_c = config.steps, config.tokens
        self._z = np.empty((t + 1, m_c))
        self._predicted = np.empty((t + 1, m_c))
        self._terms = np.empty((t + 1, 2, m_c))
        self._entropy = np.empty(t + 1)
        self._loss = np.full(t + 1, np.nan)
        self._v_unit = np.empty((t + 1, m_c))
        self._every = max(1, t // V_SNAPSHOTS)
        self._snapshots: list[tuple[int, np.ndarray]] = []
        if config.layernorm:  # the script's b̄ with LayerNorm: ∝ the mean of x∘x
            b_bar = (self.x ** 2).mean(axis=1)
        else:
            b_bar = self.x.mean(axis=1)
        self._b_bar = b_bar / b_bar.sum()
        with torch.no_grad():
            _, b = self.model.loss()
        self._record(0, b)

    def _invariant_terms(self, v: np.ndarray) -> np.ndarray:
        """[2, M_c]: the invariant's two terms from v [units, M_c] (the second is 0 but for softmax)."""
        squares = (v ** 2).sum(axis=0)
        c = self.config
        if c.attention == "linear":
            return np.stack([squares, np.zeros_like(squares)])
        second = -(v ** 2).sum() * self._b_bar if c.attention == "softmax" else np.zeros_like(squares)
        return np.stack([squares, second]) / (2 * c.temperature)

    def _record(self, row: int, b: torch.Tensor) -> None:
        m = self.model
        z = m.z.detach().numpy()
        v = m.w.detach().numpy()[: self.config.tokens].T  # v_k = U_Cᵀ w_k, one row per unit
        terms = self._invariant_terms(v)
        compared = z ** 2 if self.config.attention == "linear" else z
        if row == 0:  # c fixed at t = 0, so that ẑ(0) = z(0)
            self._offset = compared - terms.sum(axis=0)
        self._z[row] = z
        self._predicted[row] = terms.sum(axis=0) + self._offset
        self._terms[row] = terms + self._offset
        attention = b.detach().numpy()
        attention = np.abs(attention) / np.abs(attention).sum(axis=1, keepdims=True)
        self._entropy[row] = float(entropy_of(attention).mean())
        self._v_unit[row] = v[0]
        if row % self._every == 0 or row == self.config.steps:
            self._snapshots.append((row, v.T.copy()))

    def step(self) -> None:
        t = self.step_count
        loss, _ = self.model.loss()
        grads = torch.autograd.grad(loss, self.model.parameters)
        with torch.no_grad():
            for p, g in zip(self.model.parameters, grads):
                p -= self.config.lr * g
            _, b = self.model.loss()
        self._loss[t] = float(loss.detach())
        self._record(t + 1, b)
        if not (np.isfinite(self._loss[t]) and np.isfinite(self._z[t + 1]).all()):
            self.diverged(t + 1, "the loss or the logits became NaN or infinite: lower the learning rate")
        self.step_count = t + 1

    def finish(self) -> None:
        with torch.no_grad():
            loss, _ = self.model.loss()
        self._loss[self.step_count] = float(loss)

    def view(self, step: int | None = None) -> InvariantView:
        step = self.step_count if step is None else step
        snaps = [s for s in list(self._snapshots) if s[0] <= step]
        return InvariantView(self.config, self.x, step, self._z[: step + 1].copy(),
                             self._predicted[: step + 1].copy(), self._terms[: step + 1].copy(),
                             self._entropy[: step + 1].copy(), self._loss[: step + 1].copy(),
                             self._v_unit[: step + 1].copy(), np.array([s[0] for s in snaps]),
                             np.array([s[1] for s in snaps]))


def plan_invariant(config: InvariantConfig) -> Plan:
    units = config.hidden if config.mlp == "relu" else config.classes
    per_step = 8 * config.tokens * 5
    snapshots = 8 * units * config.tokens * (V_SNAPSHOTS + 2)
    return Plan(memory_bytes=16 * 2**20 + per_step * (config.steps + 1) + snapshots, total_steps=config.steps)
