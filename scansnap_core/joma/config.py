"""The JoMA study's validated configurations, one per demo, with their field tables and presets (docs/THEORY.md,
"JoMA").  Every invalid value raises :class:`~scansnap_core.lab.fields.ConfigError` naming the field, the value
and the allowed range; the page, the CLI and the URL state read each demo's ``FIELDS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..lab.fields import ConfigError, FieldTable, Range
from ..lab.flat_config import FlatConfig

__all__ = ["DEMOS", "InvariantConfig", "ReducedConfig"]

_SEED = Range(0, 2**31 - 1, integer=True)

INVARIANT_FIELDS = FieldTable(
    ranges={"distinct": Range(2, 20, integer=True), "common": Range(0, 20, integer=True),
            "classes": Range(2, 40, integer=True), "temperature": Range(0.05, 5), "lr": Range(0, 1, lo_open=True),
            "hidden": Range(4, 256, integer=True), "steps": Range(1, 20000, integer=True), "seed": _SEED},
    choices={"attention": ("softmax", "exp", "linear"), "mlp": ("linear", "relu"), "data": ("gaussian", "random")},
    help={
        "distinct": "distinct contextual tokens M_d: each class has its own bump of them",
        "common": "common contextual tokens: random weights, unrelated to the class",
        "classes": "classes K (one query token, full batch: every class each step)",
        "temperature": "attention temperature T (logits z/T)",
        "lr": "SGD learning rate, the same for the attention logits z and the MLP weights (the invariant needs that)",
        "attention": "'softmax', 'exp' (unnormalised: the invariant is exact) or 'linear' (b = x·z)",
        "mlp": "'linear' (logits = Wᵀf) or 'relu' (a ReLU hidden layer, then a linear readout)",
        "hidden": "hidden units of the ReLU layer",
        "layernorm": "LayerNorm on f = U_C b + u_q before the MLP",
        "data": "'gaussian' (class k's distinct tokens form a bump around token k·M_d/K) or 'random' (uniform)",
        "steps": "full-batch SGD steps",
        "seed": "random seed of the common-token weights and the initial z and W",
    },
    labels={"distinct": "Distinct tokens M_d", "common": "Common tokens", "classes": "Classes K",
            "temperature": "Temperature T", "lr": "Learning rate", "attention": "Attention", "mlp": "MLP",
            "hidden": "Hidden units", "layernorm": "LayerNorm", "data": "Class distributions", "steps": "Steps",
            "seed": "Seed"},
)


@dataclass(frozen=True)
class InvariantConfig(FlatConfig):
    """Demo 1 (the invariant check): one attention layer over contextual tokens, an MLP above, full-batch SGD."""

    distinct: int = 10
    common: int = 10
    classes: int = 20
    temperature: float = 0.5
    lr: float = 0.1
    attention: str = "softmax"
    mlp: str = "linear"
    hidden: int = 64
    layernorm: bool = False
    data: str = "gaussian"
    steps: int = 2000
    seed: int = 0

    FIELDS: ClassVar[FieldTable] = INVARIANT_FIELDS

    @property
    def tokens(self) -> int:
        """M_c, the contextual tokens."""
        return self.distinct + self.common


REDUCED_FIELDS = FieldTable(
    ranges={"tokens": Range(2, 30, integer=True), "mu_low": Range(0, 10, lo_open=True), "mu_high": Range(0, 10),
            "v0": Range(0, 1, lo_open=True), "temperature": Range(0.1, 10), "lr": Range(0, 0.2, lo_open=True),
            "steps": Range(1, 50000, integer=True), "seed": _SEED},
    choices={},
    help={
        "tokens": "tokens (components of v)",
        "mu_low": "smallest possible saliency μ (μ is drawn uniformly between the two bounds, then sorted)",
        "mu_high": "largest possible saliency μ",
        "v0": "every component's starting value",
        "temperature": "temperature T of the implied attention softmax(v²/T)",
        "lr": "Euler step size η",
        "linear": "drop the saturation: v ← v + η·μ∘softmax(v²/T) (winner-take-all, the Scan & Snap regime)",
        "steps": "Euler steps",
        "seed": "random seed of the saliencies μ",
    },
    labels={"tokens": "Tokens", "mu_low": "Saliency μ from", "mu_high": "Saliency μ to", "v0": "Initial v(0)",
            "temperature": "Temperature T", "lr": "Step size η", "linear": "Linear (no saturation)",
            "steps": "Steps", "seed": "Seed"},
)


@dataclass(frozen=True)
class ReducedConfig(FlatConfig):
    """Demo 2 (sparse, then dense): the reduced dynamics of one hidden node, v ← v + η·(μ − v)∘softmax(v²/T)."""

    tokens: int = 10
    mu_low: float = 1.0
    mu_high: float = 4.0
    v0: float = 0.05
    temperature: float = 3.0
    lr: float = 0.02
    linear: bool = False
    steps: int = 5000
    seed: int = 0

    FIELDS: ClassVar[FieldTable] = REDUCED_FIELDS

    def _check(self) -> None:
        if self.mu_high <= self.mu_low:
            raise ConfigError("mu_high", self.mu_high, f"mu_low < mu_high <= 10 (mu_low = {self.mu_low:g})")


#: demo name (CLI command, page tab) -> (its config class, what it shows)
DEMOS = {
    "invariant": (InvariantConfig, "the JoMA invariant: attention logits are a function of the MLP weights"),
    "reduced": (ReducedConfig, "sparse, then dense: salient tokens win first, the rest catch up"),
}
