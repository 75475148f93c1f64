"""How much of a clock is left, as a colour: green with more than half its budget,
amber with less, red when overdue; grey when paused or stopped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sla import OfficeHours, Period, Unit


def budget(period: str, mode_working: bool, extensions: list[dict[str, Any]]) -> timedelta | None:
    """A clock's whole allowance in its own time (office time for working-day clocks),
    with the extensions granted so far."""
    total = timedelta(0)
    granted = [e.get("period") for e in extensions if e.get("status") == "approved"]
    for text in [period, *granted]:
        if not isinstance(text, str):
            continue
        try:
            p = Period.parse(text)
        except ValueError:
            return None
        if p.unit is Unit.wd:
            total += (OfficeHours().daily_total() if mode_working else timedelta(days=1)) * p.value
        elif p.unit is Unit.d:
            total += timedelta(days=p.value)
        else:
            total += p.exact()
    return total or None


def clock_class(d: dict[str, Any]) -> str:
    """The CSS class of a deadline dict from the services (``deadline_dict``)."""
    if d.get("overdue"):
        return "clock-red"
    if not d.get("running"):
        return "clock-done" if d.get("met") or d.get("status") == "stopped" else "clock-idle"
    left = d.get("remaining_seconds")
    if left is None:
        return "clock-idle"
    if left < 0:
        return "clock-red"
    period = str(d.get("period") or "")
    working = Period.parse(period).unit in (Unit.wd, Unit.wh) if _ok(period) else False
    whole = budget(period, working, list(d.get("extensions") or []))
    if whole is None or whole.total_seconds() <= 0:
        return "clock-green"
    return "clock-green" if left / whole.total_seconds() > 0.5 else "clock-amber"


def _ok(period: str) -> bool:
    try:
        Period.parse(period)
    except ValueError:
        return False
    return True
