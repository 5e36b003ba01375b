"""Demo 2: the reduced JoMA dynamics of one hidden node (docs/THEORY.md, "JoMA: sparse, then dense").

With attention integrated out, a hidden node's weights on the contextual tokens follow
v ← v + η·(μ − v)∘softmax(v²/T): component l grows towards its saliency μ_l at a rate set by the attention it
implies, softmax(v²/T).  Salient components grow first and the attention turns sparse; as they saturate
(v_l → μ_l) the others catch up and it turns dense again, towards softmax(μ²/T).  Without the saturation
(``linear``: v ← v + η·μ∘softmax(v²/T)) the winner takes all, as in Scan & Snap.  All components update at once
(numpy); one step costs O(tokens).
"""

from __future__ import annotations

import numpy as np

from ..lab.trainable import FixedConfigEngine, Plan, StepView
from .config import ReducedConfig

__all__ = ["ReducedEngine", "ReducedView", "attention_of", "entropy_of", "plan_reduced", "rebound_started",
           "saliencies"]


def saliencies(config: ReducedConfig) -> np.ndarray:
    """μ: ``tokens`` uniform draws between the bounds, sorted ascending (seeded)."""
    return np.sort(np.random.default_rng(config.seed).uniform(config.mu_low, config.mu_high, config.tokens))


def attention_of(v: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(v²/T) over the last axis (max-subtracted: the linear variant's v grows without bound)."""
    logits = v ** 2 / temperature
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def entropy_of(attention: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) over the last axis."""
    return np.maximum(-(attention * np.log(np.where(attention > 0, attention, 1.0))).sum(axis=-1), 0.0)


class ReducedView(StepView):
    """The run at ``step``: v(t) [step + 1, tokens], the implied attention's entropy [step + 1], μ, and what the
    theory gives: the limit entropy H(softmax(μ²/T)) (saturating variant) and t90 per component."""

    def __init__(self, config: ReducedConfig, mu: np.ndarray, v: np.ndarray):
        self.config, self.mu, self.v = config, mu, v
        self.step = v.shape[0] - 1
        self.entropy = entropy_of(attention_of(v, config.temperature))
        self.entropy_limit = float(entropy_of(attention_of(mu, config.temperature))) if not config.linear else 0.0

    def upto(self, step: int) -> "ReducedView":
        return ReducedView(self.config, self.mu, self.v[: step + 1])

    @property
    def t90(self) -> list[int | None]:
        """Per component (ascending μ): the first step at which v_l ≥ 0.9 μ_l, or None."""
        reached = self.v >= 0.9 * self.mu
        return [int(np.argmax(col)) if col.any() else None for col in reached.T]

    @property
    def entropy_min(self) -> tuple[float, int]:
        """(the smallest entropy so far, its step)."""
        at = int(np.argmin(self.entropy))
        return float(self.entropy[at]), at


class ReducedEngine(FixedConfigEngine):
    """Euler steps of the reduced dynamics, one per :meth:`step`; v(t) recorded every step."""

    def __init__(self, config: ReducedConfig):
        super().__init__(config, plan_reduced(config))
        self.mu = saliencies(config)
        self._v = np.empty((config.steps + 1, config.tokens))
        self._v[0] = config.v0

    def step(self) -> None:
        t, c = self.step_count, self.config
        v = self._v[t]
        drive = self.mu if c.linear else self.mu - v
        self._v[t + 1] = v + c.lr * drive * attention_of(v, c.temperature)
        if not np.isfinite(self._v[t + 1]).all():
            self.diverged(t + 1, "v became infinite: lower the step size or the number of steps")
        self.step_count = t + 1

    def view(self, step: int | None = None) -> ReducedView:
        step = self.step_count if step is None else step
        return ReducedView(self.config, self.mu, self._v[: step + 1].copy())


def plan_reduced(config: ReducedConfig) -> Plan:
    return Plan(memory_bytes=8 * (config.steps + 1) * config.tokens * 3, total_steps=config.steps)


def rebound_started(engine: ReducedEngine) -> str | None:
    """Why to auto-pause once the attention turns dense again: the entropy rose in the last step after falling in
    the one before (cheap: three rows)."""
    t = engine.step_count
    if t < 2:
        return None
    h = entropy_of(attention_of(engine._v[t - 2: t + 1], engine.config.temperature))
    if h[2] > h[1] < h[0]:
        return f"the attention is turning dense again (entropy minimum {h[1]:.3f} at step {t - 1})"
    return None

