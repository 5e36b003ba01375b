"""The JoMA study's validated configurations, one per demo, with their field tables and presets (docs/THEORY.md,
"JoMA").  Every invalid value raises :class:`~scansnap_core.lab.fields.ConfigError` naming the field, the value
and the allowed range; the page, the CLI and the URL state read each demo's ``FIELDS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..lab.fields import ConfigError, FieldTable, Range
from ..lab.flat_config import FlatConfig

__all__ = ["DEMOS", "HierConfig", "InvariantConfig", "LMConfig", "ReducedConfig"]

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


LM_FIELDS = FieldTable(
    ranges={"topics": Range(2, 20, integer=True), "topic_tokens": Range(4, 100, integer=True),
            "common_tokens": Range(0, 100, integer=True), "layers": Range(1, 3, integer=True),
            "dim": Range(16, 128, integer=True), "lr": Range(1e-5, 1e-2), "batch": Range(8, 256, integer=True),
            "length": Range(8, 64, integer=True), "steps": Range(1, 5000, integer=True), "seed": _SEED},
    choices={},
    help={
        "topics": "topics: each sequence picks one uniformly",
        "topic_tokens": "topic tokens: topic k's weights form a bump around token 2k (with 10 topics and 20 tokens)",
        "common_tokens": "common tokens: the same random U(0, 0.5) weights in every topic",
        "layers": "transformer blocks (post-LayerNorm, one head each)",
        "dim": "model width d (the MLP is 4d wide)",
        "lr": "Adam learning rate",
        "batch": "sequences per step",
        "length": "positions with a next-token loss per sequence",
        "steps": "Adam steps",
        "seed": "random seed of the data, the common weights and the initialisation",
    },
    labels={"topics": "Topics", "topic_tokens": "Topic tokens", "common_tokens": "Common tokens", "layers": "Layers",
            "dim": "Width d", "lr": "Learning rate", "batch": "Batch", "length": "Length", "steps": "Steps",
            "seed": "Seed"},
)


@dataclass(frozen=True)
class LMConfig(FlatConfig):
    """Demo 3: a 1–3 layer transformer learning a synthetic topic language model (next-token loss)."""

    topics: int = 10
    topic_tokens: int = 20
    common_tokens: int = 20
    layers: int = 1
    dim: int = 64
    lr: float = 1e-3
    batch: int = 64
    length: int = 32
    steps: int = 800
    seed: int = 0

    FIELDS: ClassVar[FieldTable] = LM_FIELDS


HIER_FIELDS = FieldTable(
    ranges={"observable": Range(8, 64, integer=True), "length": Range(8, 64, integer=True),
            "level0": Range(2, 64, integer=True), "level1": Range(2, 32, integer=True),
            "size0": Range(2, 4, integer=True), "size1": Range(2, 4, integer=True), "dim": Range(16, 128, integer=True),
            "lr": Range(1e-4, 0.1), "batch": Range(16, 512, integer=True), "steps": Range(1, 5000, integer=True),
            "seed": _SEED},
    choices={"optimizer": ("adam", "sgd")},
    help={
        "observable": "observable vocabulary (the last id is the padding token)",
        "length": "sequence length (left padding, then the sample's observable tokens in order)",
        "level0": "level-0 latents: each is a distinct random subset of observable tokens",
        "level1": "level-1 latents, the classes: each is a distinct random subset of level-0 latents",
        "size0": "observable tokens per level-0 latent",
        "size1": "level-0 latents per class",
        "dim": "model width d (2 blocks, the MLP is 4d wide)",
        "optimizer": "'adam' (as the paper's Table 1 runs) or 'sgd' (momentum 0.9, weight decay 5e-3)",
        "lr": "learning rate of the optimizer",
        "batch": "samples per step",
        "steps": "optimizer steps",
        "seed": "random seed of the hierarchy, the samples and the initialisation",
    },
    labels={"observable": "Observable tokens", "length": "Length", "level0": "Level-0 latents",
            "level1": "Classes (level 1)", "size0": "Tokens per level-0 latent", "size1": "Latents per class",
            "dim": "Width d", "optimizer": "Optimizer", "lr": "Learning rate", "batch": "Batch", "steps": "Steps",
            "seed": "Seed"},
)


@dataclass(frozen=True)
class HierConfig(FlatConfig):
    """Demo 4: classes made of latent concepts made of tokens; does each layer's MLP find one level?"""

    observable: int = 20
    length: int = 20
    level0: int = 20
    level1: int = 10
    size0: int = 3
    size1: int = 3
    dim: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    batch: int = 128
    steps: int = 600
    seed: int = 0

    FIELDS: ClassVar[FieldTable] = HIER_FIELDS

    def _check(self) -> None:
        from math import comb

        if self.size1 * self.size0 > self.length:
            raise ConfigError("length", self.length, f"at least size0 × size1 = {self.size0 * self.size1} positions")
        if comb(self.observable - 1, self.size0) < self.level0:
            raise ConfigError("level0", self.level0, f"at most C({self.observable - 1}, {self.size0}) distinct subsets "
                                                     "of the observable tokens")
        if comb(self.level0, self.size1) < self.level1:
            raise ConfigError("level1", self.level1, f"at most C({self.level0}, {self.size1}) distinct subsets of the "
                                                     "level-0 latents")


#: demo name (CLI command, page tab) -> (its config class, what it shows)
DEMOS = {
    "invariant": (InvariantConfig, "the JoMA invariant: attention logits are a function of the MLP weights"),
    "reduced": (ReducedConfig, "sparse, then dense: salient tokens win first, the rest catch up"),
    "lm": (LMConfig, "a small transformer on topic data: each layer's attention entropy dips, then rebounds"),
    "hier": (HierConfig, "hierarchical latent data: do each block's MLP units track the latents of one level?"),
}
