"""The induction-heads study's validated run configuration, its field table and its presets (docs/THEORY.md,
"Induction heads").  Every invalid value raises :class:`~scansnap_core.lab.fields.ConfigError` naming the
field, the value and the allowed range; the page's controls, the CLI and the URL state read :data:`FIELDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..lab.fields import ConfigError, FieldTable, Range, short_repr, to_text
from ..lab.flat_config import FlatConfig
from .training import Stage

__all__ = ["FIELDS", "FIELD_NAMES", "InductionConfig", "PRESETS", "check_field", "parents_text", "preset"]

#: the largest parent distance and parent set a run may have (the χ²-MI's chain has vocab^max(heads, P) states)
MAX_PARENT = 4
MAX_PARENTS = 3

RANGES: dict[str, Range] = {
    "vocab": Range(2, 5, integer=True),
    "alpha": Range(0, 30, lo_open=True),
    "heads": Range(2, 4, integer=True),
    "window": Range(2, 5, integer=True),
    "degree": Range(1, 3, integer=True),
    "w_plus": Range(0.5, 4),
    "w_minus": Range(0, 2),
    "samples": Range(50, 2000, integer=True),
    "length": Range(16, 128, integer=True),
    "seed": Range(0, 2**31 - 1, integer=True),
    "selector_steps": Range(0, 5000, integer=True),
    "selector_lr": Range(0, 1e6),
    "rpe_steps": Range(0, 5000, integer=True),
    "rpe_lr": Range(0, 1e6),
    "scale_steps": Range(0, 5000, integer=True),
    "scale_lr": Range(0, 1e6),
    "joint_steps": Range(1, 10000, integer=True),
    "joint_lr": Range(0, 1e6),
}
CHOICES: dict[str, tuple[str, ...]] = {"schedule": ("staged", "joint"), "loss": ("log", "cross_entropy")}
HELP: dict[str, str] = {
    "vocab": "vocabulary size d",
    "parents": "the true parents: relative distances p (x_t depends on x_{t−p}), e.g. '1,2' for a 3-gram",
    "alpha": "Dirichlet concentration of each sequence's transition table: small = nearly deterministic rows",
    "mixture": "mixture prior λ in [0, 1] (parents 1,2 only): how much the second parent tells; empty = off",
    "heads": "first-layer heads H (head h starts out preferring distance h)",
    "window": "first-layer window M: distances 1..M each head can attend to (M >= H)",
    "degree": "FFN degree D: the selector weighs every head subset with at most D heads",
    "w_plus": "initial RPE logit of head h at its own distance h (the symmetry breaker)",
    "w_minus": "initial RPE logit at the other distances",
    "samples": "training sequences N (full batch); a fresh validation set of the same size is drawn too",
    "length": "context length L (inputs per sequence; the target is token L+1)",
    "seed": "random seed of the data and the χ²-MI's kernels: the same seed gives the same run",
    "schedule": "'staged' (I: selector c, II: RPE w, III: scale a, one group at a time) or 'joint' (all at once)",
    "selector_steps": "stage I steps (selector c)",
    "selector_lr": "stage I learning rate",
    "rpe_steps": "stage II steps (RPE w)",
    "rpe_lr": "stage II learning rate (the RPE gradient scales with a ≈ 0.01, hence a large rate)",
    "scale_steps": "stage III steps (the classifier's scale a)",
    "scale_lr": "stage III learning rate",
    "joint_steps": "steps of joint training",
    "joint_lr": "learning rate of joint training",
    "loss": "'log': −log(ŷ_y + 1e−6); 'cross_entropy': −log softmax(ŷ)_y, the authors' script (a weaker signal)",
}
LABELS: dict[str, str] = {
    "vocab": "Vocabulary d", "parents": "True parents P", "alpha": "Dirichlet α", "mixture": "Mixture λ",
    "heads": "Heads H", "window": "Window M", "degree": "FFN degree D", "w_plus": "Init w₊", "w_minus": "Init w₋",
    "samples": "Sequences N", "length": "Context length L", "seed": "Seed", "schedule": "Schedule",
    "selector_steps": "Stage I steps", "selector_lr": "Stage I rate", "rpe_steps": "Stage II steps",
    "rpe_lr": "Stage II rate", "scale_steps": "Stage III steps", "scale_lr": "Stage III rate",
    "joint_steps": "Joint steps", "joint_lr": "Joint rate", "loss": "Loss",
}


def parents_text(parents) -> str:
    """(1, 2) -> '1,2' (the form the URL and the CLI take)."""
    return ",".join(str(p) for p in parents)


def parse_parents(text: str) -> tuple[int, ...]:
    """'1,2' (or '{1, 2}') -> (1, 2); the range checks are the config's."""
    try:
        return tuple(int(p) for p in text.strip("{} ").split(",") if p.strip())
    except ValueError:
        raise ConfigError("parents", text, "distances separated by commas, e.g. 1,2") from None


def parse_mixture(text: str) -> float | None:
    if text.strip().lower() in ("", "off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError("mixture", text, "a number 0 <= mixture <= 1, or empty for off") from None


FIELDS = FieldTable(RANGES, CHOICES, HELP, LABELS,
                    custom={"parents": ("distances", parse_parents), "mixture": ("optional number", parse_mixture)})


@dataclass(frozen=True)
class InductionConfig(FlatConfig):
    """One induction-heads run: the data (A1), the model (A2) and its training (A3) of the spec."""

    vocab: int = 3
    parents: tuple[int, ...] = (1, 2)
    alpha: float = 0.1
    mixture: float | None = None
    heads: int = 3
    window: int = 3
    degree: int = 2
    w_plus: float = 2.0
    w_minus: float = 0.1
    samples: int = 1000
    length: int = 64
    seed: int = 0
    schedule: str = "staged"
    selector_steps: int = 100
    selector_lr: float = 1.0
    rpe_steps: int = 100
    rpe_lr: float = 3000.0
    scale_steps: int = 200
    scale_lr: float = 1.0
    joint_steps: int = 300
    joint_lr: float = 1.0
    loss: str = "log"

    FIELDS: ClassVar[FieldTable] = FIELDS

    @classmethod
    def check_field(cls, name: str, value: Any) -> Any:
        return check_field(name, value)

    @classmethod
    def field_text(cls, name: str, value: Any) -> str:
        return parents_text(value) if name == "parents" else to_text(value)

    def _check(self) -> None:
        if self.mixture is not None:
            if self.parents != (1, 2):
                raise ConfigError("mixture", self.mixture, f"empty (off) unless parents = 1,2 (they are "
                                                           f"{parents_text(self.parents)})")
        if self.window < self.heads:
            raise ConfigError("window", self.window, f"heads <= window <= 5 (heads = {self.heads})")
        if self.degree > self.heads:
            raise ConfigError("degree", self.degree, f"1 <= degree <= heads (heads = {self.heads})")
        if self.total_steps < 1:
            raise ConfigError("selector_steps", self.selector_steps, "stage steps adding up to at least 1")

    # ------------------------------------------------------------------ derived
    @property
    def stages(self) -> tuple[Stage, ...]:
        """The training schedule (stages with no steps left out)."""
        if self.schedule == "joint":
            return (Stage(("c", "w", "a"), self.joint_lr, self.joint_steps),)
        stages = (Stage(("c",), self.selector_lr, self.selector_steps), Stage(("w",), self.rpe_lr, self.rpe_steps),
                  Stage(("a",), self.scale_lr, self.scale_steps))
        return tuple(s for s in stages if s.steps > 0)

    @property
    def total_steps(self) -> int:
        if self.schedule == "joint":
            return self.joint_steps
        return self.selector_steps + self.rpe_steps + self.scale_steps


FIELD_NAMES = InductionConfig.field_names()


def check_field(name: str, value: Any) -> Any:
    """One field's value on its own (its range or choices; the rules between fields are the config's)."""
    if name == "parents":
        return _checked_parents(value)
    if name == "mixture":
        return None if value is None else Range(0, 1).check("mixture", value)
    return FIELDS.check(name, value, flag=False)


def _checked_parents(parents: Any) -> tuple[int, ...]:
    allowed = f"1 to {MAX_PARENTS} different distances, each 1..{MAX_PARENT}, e.g. 1,2"
    if not isinstance(parents, (tuple, list)) or not 1 <= len(parents) <= MAX_PARENTS:
        raise ConfigError("parents", short_repr(parents), allowed)
    checked = tuple(sorted(Range(1, MAX_PARENT, integer=True).check("parents", p) for p in parents))
    if len(set(checked)) != len(checked):
        raise ConfigError("parents", parents_text(parents), allowed)
    return checked


#: the spec's defaults and its lessons (SEED_PAGES A5): name -> (changes from the defaults, what it shows)
PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "defaults": ({}, "3-gram data (parents 1, 2), three heads, degree 2: selects heads {1, 2}"),
    "one-parent": ({"degree": 1, "w_plus": 4.0},
                   "degree 1 keeps one parent, and it is distance 2, not 1 (heads start close to one distance each)"),
    "mixture-first": ({"mixture": 0.3, "alpha": 0.5},
                      "mixture λ = 0.3: both parents are real, yet the selector keeps distance 1 alone"),
    "mixture-both": ({"mixture": 0.9, "alpha": 0.5}, "mixture λ = 0.9: the second parent tells enough to keep both"),
    "weak-preference": ({"w_plus": 0.6}, "a weak head preference (w₊ = 0.6): staged training may pick an odd pair"),
    "joint": ({"schedule": "joint"}, "all parameters at once: the phases overlap"),
}


def preset(name: str, **changes: Any) -> InductionConfig:
    if name not in PRESETS:
        raise ConfigError("preset", name, "one of " + ", ".join(PRESETS))
    return InductionConfig().replace(**{**PRESETS[name][0], **changes})
