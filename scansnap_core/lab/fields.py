"""Field metadata every study's configuration uses: :class:`ConfigError` (a message naming the field,
the value and the allowed range), numeric :class:`Range` checks, and :class:`FieldTable`, one study's
table of ranges, choices, help and labels that its config validates with and its controls, CLI and
URL state read.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any, Callable

import numpy as np

__all__ = ["ConfigError", "Range", "FieldTable", "short_repr", "to_text"]


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


def short_repr(value: Any, limit: int = 60) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "…"


def to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):  # a table (e.g. per-class weights): rows ';'-separated, values ','-separated
        return ";".join(",".join(repr(float(w)) for w in row) for row in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class FieldTable:
    """One study's field metadata: numeric ranges, text choices, one-line help and the controls'
    labels, plus fields of their own type (``custom``: name -> (kind, text parser)).  Flags are the
    bool fields.  The config validates with it; the sidebar, the CLI and the URL state read it, so a
    range is written once."""

    ranges: dict[str, Range]
    choices: dict[str, tuple[str, ...]]
    help: dict[str, str]
    labels: dict[str, str]
    custom: dict[str, tuple[str, Callable[[str], Any]]] = dataclass_field(default_factory=dict)

    def bounds(self, name: str) -> tuple[int, int] | tuple[float, float]:
        """(lowest, highest) value of a numeric field, for forms (an open lower bound is still rejected
        by validation, with a message naming it)."""
        r = self.ranges[name]
        return (int(r.lo), int(r.hi)) if r.integer else (float(r.lo), float(r.hi))

    def kind(self, name: str) -> str:
        """'int', 'float', 'choice', 'bool' or a custom field's kind: how a field is typed (CLIs, forms)."""
        if name in self.ranges:
            return "int" if self.ranges[name].integer else "float"
        if name in self.choices:
            return "choice"
        return self.custom[name][0] if name in self.custom else "bool"

    def validate(self, obj: Any) -> dict[str, Any]:
        """Check every field of a config dataclass; return the normalised values."""
        return {f.name: self.check(f.name, getattr(obj, f.name), flag=f.type in ("bool", bool)) for f in fields(obj)}

    def check(self, name: str, value: Any, flag: bool | None = None) -> Any:
        """One field's value on its own (range, choices, flag); the normalised value, or ConfigError.
        ``flag``: whether the field is a flag (default: unless it has a range, choices or its own type)."""
        if name in self.ranges:
            return self.ranges[name].check(name, value)
        if name in self.choices:
            return _choice(name, value, self.choices[name])
        if flag or (flag is None and name not in self.custom):
            return _flag(name, value)
        return value

    def parse(self, name: str, text: Any, current: Any) -> Any:
        """Parse one text value (a URL query parameter) according to the type of the field it sets
        (``current`` is the field's present value, which gives its type); range checks are the
        config's."""
        if not isinstance(text, str):
            return text
        t = text.strip()
        if name in self.custom:
            return self.custom[name][1](t)
        if isinstance(current, bool):
            low = t.lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ConfigError(name, text, "true or false")
        if name in self.ranges:
            try:
                value = float(t)
            except ValueError:
                raise ConfigError(name, text, self.ranges[name].describe(name)) from None
            # an integer field keeps the integer typed, so a message quotes "7", not "7.0"
            return int(value) if self.ranges[name].integer and value.is_integer() else value
        return t
