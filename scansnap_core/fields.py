"""What each configuration field may hold: its range or choices, its help text, its type for
forms and CLIs, and its text form in URLs.  The one place that field metadata lives: the config
validates with it, and the sidebar controls, the CLI and the URL state read it.

A value a field may not hold raises :class:`ConfigError`, whose message names the field, the value
and the allowed range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .limits import LIMITS

__all__ = ["ConfigError", "Range", "FIELD_CHOICES", "FIELD_HELP", "field_bounds", "field_kind", "parse_field", "to_text",
           "short_repr", "validate_fields"]


class ConfigError(ValueError):
    """A configuration value is invalid.

    Attributes ``field``, ``value`` and ``allowed`` say what was wrong; ``str(err)``
    reads e.g. ``eta_y = -1.0 is invalid: allowed 0 < eta_y <= 1000``.
    """

    def __init__(self, field: str, value: Any, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r} is invalid: allowed {allowed}")


@dataclass(frozen=True)
class Range:
    """Allowed range of a numeric field; ``lo_open`` excludes the lower bound."""

    lo: float
    hi: float
    lo_open: bool = False
    integer: bool = False

    def describe(self, name: str) -> str:
        kind = "integer " if self.integer else ""
        lo_op = "<" if self.lo_open else "<="
        if self.integer:
            return f"{kind}{int(self.lo)} {lo_op} {name} <= {int(self.hi)}"
        return f"{kind}{self.lo:g} {lo_op} {name} <= {self.hi:g}"

    def check(self, name: str, value: Any) -> float | int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ConfigError(name, value, self.describe(name))
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise ConfigError(name, short_repr(value), self.describe(name))
        if self.integer and value != int(value):
            raise ConfigError(name, value, self.describe(name))
        below = value <= self.lo if self.lo_open else value < self.lo
        if below or value > self.hi:
            raise ConfigError(name, value, self.describe(name))
        return int(value) if self.integer else float(value)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ConfigError(name, value, "one of " + ", ".join(repr(o) for o in options))
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "true or false")
    return value


_RANGES: dict[str, Range] = {
    # data
    "num_query": Range(1, 1000, integer=True),
    "next_per_query": Range(1, 1000, integer=True),
    "distinct_per_class": Range(0, 5000, integer=True),
    "common_global": Range(0, 5000, integer=True),
    "common_per_query": Range(0, 5000, integer=True),
    "distinct_min": Range(0, 1e6, lo_open=True),
    "distinct_max": Range(0, 1e6, lo_open=True),
    "common_weight": Range(0, 1e6),
    # model
    "init_scale": Range(0, 100),
    # train
    "eta_y": Range(0, 1000, lo_open=True),
    "eta_z": Range(0, 1000),
    "momentum": Range(0, 0.999),
    "batch_size": Range(1, 8192, integer=True),
    "seq_len": Range(2, 8192, integer=True),
    "steps": Range(1, LIMITS.max_steps, integer=True),
    "seed": Range(0, 2**31 - 1, integer=True),
    "record_every": Range(1, 100_000, integer=True),
}

#: allowed values of the text fields
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "init": ("zero", "default"),
    "optimizer": ("sgd", "adam"),
    "mode": ("sgd", "expected"),
}


def field_bounds(name: str) -> tuple[int, int] | tuple[float, float]:
    """(lowest, highest) value of a numeric field, for forms (an open lower bound is still rejected
    by validation, with a message naming it).  The one source of the ranges that controls show."""
    r = _RANGES[name]
    return (int(r.lo), int(r.hi)) if r.integer else (float(r.lo), float(r.hi))


def field_kind(name: str) -> str:
    """'int', 'float', 'choice', 'bool' or 'weights': how a flat field is typed (for CLIs and forms)."""
    if name in _RANGES:
        return "int" if _RANGES[name].integer else "float"
    if name in FIELD_CHOICES:
        return "choice"
    return "weights" if name == "distinct_weights" else "bool"


def validate_fields(obj: Any) -> dict[str, Any]:
    """Check every field of a config dataclass; return the normalised values."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in _RANGES:
            out[f.name] = _RANGES[f.name].check(f.name, value)
        elif f.name in FIELD_CHOICES:
            out[f.name] = _choice(f.name, value, FIELD_CHOICES[f.name])
        elif f.type in ("bool", bool):
            out[f.name] = _flag(f.name, value)
        else:
            out[f.name] = value
    return out


#: One-line help for every field (CLI --help and the dashboard's tooltips).
FIELD_HELP: dict[str, str] = {
    "num_query": "number of query tokens (groups of classes sharing a query)",
    "next_per_query": "next tokens (classes) per query token; K = num_query x next_per_query",
    "distinct_per_class": "distinct tokens per class (each appears in one class only)",
    "common_global": "common tokens shared by all classes",
    "common_per_query": "common tokens shared by the classes of one query group",
    "distinct_min": "unnormalised weight of the least likely distinct token (linear ramp start)",
    "distinct_max": "unnormalised weight of the most likely distinct token (linear ramp end)",
    "common_weight": "unnormalised weight of each common token: the overlap between classes",
    "distinct_weights": "explicit distinct-token weights per class (overrides the ramp)",
    "normalize": "l2-normalise the attention-weighted token histogram",
    "residual": "add the query token one-hot before normalising (the reference code's residual)",
    "init": "initial Y and Z: 'zero' (theory) or 'default' (PyTorch nn.Linear, U(-s/sqrt(M), s/sqrt(M)))",
    "init_scale": "scale s of the default init",
    "eta_y": "decoder learning rate eta_Y",
    "eta_z": "attention learning rate eta_Z",
    "optimizer": "'sgd' (heavy-ball momentum) or 'adam'; separate optimizers for Y and Z",
    "momentum": "SGD momentum mu (0 = plain SGD; ignored by Adam)",
    "batch_size": "sequences per minibatch (sgd mode)",
    "seq_len": "sequence length T: T-1 contextual tokens plus the query (sgd mode)",
    "steps": "optimizer steps",
    "seed": "random seed (data and init)",
    "mode": "'sgd' (sampled minibatches) or 'expected' (deterministic T->inf class-averaged update)",
    "record_every": "record per-class metrics every this many steps",
}

def short_repr(value: Any, limit: int = 60) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "…"


def to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):  # distinct_weights: rows ';'-separated, weights ','-separated
        return ";".join(",".join(repr(float(w)) for w in row) for row in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_field(name: str, text: Any, current: Any) -> Any:
    """Parse one query-parameter value according to the type of the field it sets (``current``
    is the field's present value, which gives its type)."""
    if not isinstance(text, str):
        return text
    t = text.strip()
    if name == "distinct_weights":
        if t == "":
            return None
        try:
            return tuple(tuple(float(w) for w in row.split(",")) for row in t.split(";"))
        except ValueError:
            raise ConfigError(name, text, "rows separated by ';' of numbers separated by ','") from None
    if isinstance(current, bool):
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(name, text, "true or false")
    if name in _RANGES:
        try:
            number = float(t)
        except ValueError:
            raise ConfigError(name, text, _RANGES[name].describe(name)) from None
        return number
    return t
