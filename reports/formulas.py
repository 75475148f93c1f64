"""The figures' formulas, pure, so that each one is tested on its own and written once.

The SQL in ``reports.figures`` counts numerators and denominators; these functions
turn them into rates and pick percentiles. The README's "Figures" section states each
formula in words; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Sequence


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` as a fraction, or None when nothing was due (a rate
    of an office that had nothing to do is not 0 % and not 100 %)."""
    if denominator <= 0:
        return None
    return numerator / denominator


def nearest_rank(n: int, percent: int) -> int:
    """The 1-based rank of the ``percent``-th percentile of ``n`` sorted values by the
    nearest-rank method: ceil(percent/100 * n), at least 1. The SQL uses the same
    integer formula, ``(n * percent + 99) / 100``."""
    return max(1, (n * percent + 99) // 100)


def percentile(values: Sequence[float], percent: int) -> float | None:
    """Nearest-rank percentile of ``values`` (the median is ``percent=50``)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[nearest_rank(len(ordered), percent) - 1]


def hours(minutes: int | None) -> float | None:
    """Office-time minutes as hours, one decimal."""
    return None if minutes is None else round(minutes / 60, 1)


def percent(value: float | None) -> str:
    """A rate as people read it: ``70.0%``, or ``—`` when there is no rate."""
    return "—" if value is None else f"{value * 100:.1f}%"
