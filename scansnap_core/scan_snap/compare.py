"""Differences between two runs (A and B) on the same data at one step: which distinct tokens
each run attends to, per class, and the headline numbers (entropy, losses).

The paper's Fig. 5 (docs/THEORY.md §7): with Adam, different learning rates steer the attention to
different subsets of distinct tokens, where SGD favours the most frequent ones.  A run
*attends to* a distinct token of class n when that token holds clearly more than a uniform
share of the class's distinct-token attention: c_l / Σ_{l'∈G_DT(n)} c_l' > (1 + margin) / |G_DT(n)|
(one rule for the whole lab: :func:`scansnap_core.scan_snap.events.attended_mask`, also used by the snap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..lab.fields import ConfigError
from .engine import Record
from .events import ATTENDED_MARGIN
from .results import RunData, attended_distinct

__all__ = ["ATTENDED_MARGIN", "ClassDifference", "Comparison", "attended_distinct", "compare_runs", "record_at"]


def record_at(data: RunData, step: int | None = None) -> Record:
    """The latest record at or before ``step`` (the last record when ``step`` is None)."""
    if step is None:
        return data.latest
    return next((r for r in reversed(data.records) if r.step <= step), data.records[0])


def _entropy(share: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row of renormalised shares [K, S] -> [K]."""
    logs = np.log(share, out=np.zeros_like(share), where=share > 0)
    return -(share * logs).sum(axis=1)


@dataclass(frozen=True)
class ClassDifference:
    """One class: the distinct tokens (ids) each run attends to and their split."""

    cls: int  # 0-based class index
    attended_a: tuple[int, ...]
    attended_b: tuple[int, ...]
    entropy_a: float  # this class's distinct-token entropy (nats)
    entropy_b: float

    @property
    def only_a(self) -> tuple[int, ...]:
        return tuple(t for t in self.attended_a if t not in self.attended_b)

    @property
    def only_b(self) -> tuple[int, ...]:
        return tuple(t for t in self.attended_b if t not in self.attended_a)

    @property
    def both(self) -> tuple[int, ...]:
        return tuple(t for t in self.attended_a if t in self.attended_b)


@dataclass(frozen=True)
class Comparison:
    """A and B at one recorded step (see :func:`compare_runs`)."""

    step: int
    classes: tuple[ClassDifference, ...]
    entropy_a: float  # Fig. 6 metric: mean over classes of the distinct-token entropy
    entropy_b: float
    loss_a: float  # training loss of the step's minibatch (NaN at step 0)
    loss_b: float
    population_loss_a: float
    population_loss_b: float
    max_attention_gap: float  # max |c_A − c_B| over every class and support token

    @property
    def differs(self) -> bool:
        """Whether some class attends to a different set of distinct tokens in A and B."""
        return any(c.only_a or c.only_b for c in self.classes)

    def table(self) -> pd.DataFrame:
        """One row per class: the attended distinct tokens of A only / both / B only, and entropies."""
        def ids(tokens: tuple[int, ...]) -> str:
            return ", ".join(str(t) for t in tokens) or "—"

        return pd.DataFrame({
            "class": [c.cls + 1 for c in self.classes],
            "only A": [ids(c.only_a) for c in self.classes],
            "both": [ids(c.both) for c in self.classes],
            "only B": [ids(c.only_b) for c in self.classes],
            "entropy A (nats)": [c.entropy_a for c in self.classes],
            "entropy B (nats)": [c.entropy_b for c in self.classes],
        })


def compare_runs(a: RunData, b: RunData, step: int | None = None, margin: float = ATTENDED_MARGIN) -> Comparison:
    """Compare runs ``a`` and ``b`` (same data settings) at their latest record at or before
    ``step`` (default: their last records)."""
    if a.config.data != b.config.data:
        raise ConfigError("data", "A and B differ in their data settings", "the same data settings for A and B")
    rec_a, rec_b = record_at(a, step), record_at(b, step)
    seen_a, share_a = attended_distinct(a, rec_a, margin)
    seen_b, share_b = attended_distinct(b, rec_b, margin)
    layout = a.layout
    has_distinct = layout.support_distinct.any(axis=1)
    ent_a, ent_b = _entropy(share_a), _entropy(share_b)
    classes = tuple(
        ClassDifference(n, tuple(int(t) for t in layout.support[n][seen_a[n]]),
                        tuple(int(t) for t in layout.support[n][seen_b[n]]),
                        float(ent_a[n]) if has_distinct[n] else math.nan,
                        float(ent_b[n]) if has_distinct[n] else math.nan)
        for n in range(layout.K))  # K rows of a display table: a per-class loop is cheap here
    valid = layout.support_prob > 0
    gap = np.abs(rec_a.attention[a.run] - rec_b.attention[b.run])[valid]

    def loss_at(data: RunData, s: int) -> float:
        return float(data.losses[s - 1]) if 0 < s <= len(data.losses) else math.nan

    return Comparison(
        step=rec_a.step, classes=classes,
        entropy_a=float(rec_a.entropy_distinct[a.run]), entropy_b=float(rec_b.entropy_distinct[b.run]),
        loss_a=loss_at(a, rec_a.step), loss_b=loss_at(b, rec_b.step),
        population_loss_a=float(rec_a.loss[a.run]), population_loss_b=float(rec_b.loss[b.run]),
        max_attention_gap=float(gap.max()) if gap.size else 0.0,
    )
