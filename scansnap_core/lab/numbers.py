"""Numbers as people read them on pages, captions and KPIs: a few significant digits, never float noise
("10", not "10.000000000000002"), and a word where a number would mislead (a float32 loss of exactly 0)."""

from __future__ import annotations

import math

__all__ = ["significant", "loss_text"]

#: float32's resolution near 1: a cross-entropy below it reads as exactly 0
FLOAT32_EPS = 1.2e-7


def significant(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits ('—' for None, NaN or ±inf): 10.000000000000002 -> '10',
    0.00012345 -> '0.000123', 1.2345e-07 -> '1.23e-07', 123456 -> '1.23e+05'."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{float(value):.{digits}g}"


def loss_text(value: float | None, digits: int = 3) -> str:
    """A cross-entropy loss: :func:`significant`, or '< 1.2e-07' where float32 rounded it to 0."""
    if value is not None and math.isfinite(value) and 0 <= value < FLOAT32_EPS / 2:
        return f"< {FLOAT32_EPS:.2g}"
    return significant(value, digits)
