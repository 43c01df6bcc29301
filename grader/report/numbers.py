"""How numbers from a report are written in every format: points, and losses that may be NaN or inf."""

from __future__ import annotations

import math


def points(value: float) -> float | int:
    """Points rounded to 2 decimals, as an int when whole, so JavaScript sums print '85/100', not '85.0000001'."""
    rounded = round(value, 2)
    return int(rounded) if rounded.is_integer() else rounded


def number(value: float) -> str:
    """A loss for people: 3 decimals when reasonable, else 3 significant digits ('nan', 'inf', '1.2e+30')."""
    if math.isfinite(value) and abs(value) < 1e4:
        return f"{value:.3f}"
    return f"{value:.3g}"
