"""The paper's experiments as named run configurations (docs/THEORY.md §6, §7)."""

from __future__ import annotations

from typing import Any

from ..lab.fields import ConfigError
from .config import DataConfig, ModelConfig, RunConfig, TrainConfig

__all__ = ["PRESETS", "PRESET_ALIASES", "preset"]


def _syn_small() -> RunConfig:
    """Fig. 4 (§7): 2 queries, 1 next token each, 10 common (weight 1), 10 distinct
    (ramp 0.1→1) per class, M = 34; zero init, SGD momentum 0.9, batch 128, T = 128."""
    return RunConfig(
        DataConfig(num_query=2, next_per_query=1, distinct_per_class=10, common_global=10),
        ModelConfig(init="zero"),
        TrainConfig(eta_y=1.0, eta_z=1.0, optimizer="sgd", momentum=0.9, steps=100, seed=2),
    )


def _syn_medium(num_query: int) -> RunConfig:
    """Fig. 6 (§7): ``num_query`` queries with two next tokens each, 10 global common
    tokens, 10 distinct per class; default init; SGD momentum 0.9, 100 steps."""
    return RunConfig(
        DataConfig(num_query=num_query, next_per_query=2, distinct_per_class=10, common_global=10),
        ModelConfig(init="default"),
        TrainConfig(eta_y=1.0, eta_z=1.0, optimizer="sgd", momentum=0.9, steps=100, seed=1),
    )


def _fig3() -> RunConfig:
    """Fig. 3 setting (§6): K = 10 classes sharing one query, 99 distinct tokens per class
    (ramp 0.1→1) and one common token of weight 1, M = 1002; zero init, plain SGD,
    η_Z = 0.5, η_Y = 1."""
    return RunConfig(
        DataConfig(num_query=1, next_per_query=10, distinct_per_class=99, common_global=1),
        ModelConfig(init="zero"),
        TrainConfig(eta_y=1.0, eta_z=0.5, optimizer="sgd", momentum=0.0, steps=400, seed=0),
    )


def _large() -> RunConfig:
    """The Fig. 3 layout scaled to K = 100 classes (one shared query): M = 10,002;
    zero init, SGD momentum 0.9."""
    return RunConfig(
        DataConfig(num_query=1, next_per_query=100, distinct_per_class=99, common_global=1),
        ModelConfig(init="zero"),
        TrainConfig(eta_y=1.0, eta_z=0.5, optimizer="sgd", momentum=0.9, steps=200, seed=0),
    )


PRESETS = {
    "syn-small": _syn_small,
    "syn-medium-1": lambda: _syn_medium(1),
    "syn-medium-3": lambda: _syn_medium(3),
    "syn-medium-5": lambda: _syn_medium(5),
    "syn-medium-10": lambda: _syn_medium(10),
    "fig3": _fig3,
    "large": _large,
}
PRESET_ALIASES = {"syn-medium": "syn-medium-1"}


def preset(name: str, **overrides: Any) -> RunConfig:
    """A named preset (see :data:`PRESETS`), optionally with flat field overrides."""
    key = PRESET_ALIASES.get(name, name)
    if key not in PRESETS:
        raise ConfigError("preset", name, "one of " + ", ".join(list(PRESETS) + list(PRESET_ALIASES)))
    cfg = PRESETS[key]()
    return cfg.replace(**overrides) if overrides else cfg
