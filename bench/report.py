"""Shared by the benchmarks: percentiles, plain-text tables and machine facts."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from temporalio.api.history.v1 import HistoryEvent


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()) -> str:
    body = [list(r) for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]
    aligned = set(right)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in aligned else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in body)])


def section(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (other users' work included)."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def mail_started(e: HistoryEvent) -> str | None:
    """The workflow id of the mail a ``start_notification`` local activity's marker
    started (its activity id, patches.TASK_MAIL_STARTED_LOCALLY), else None."""
    details = e.marker_recorded_event_attributes.details
    if "data" not in details or not details["data"].payloads:
        return None  # not a local activity's marker (a patch's, say)
    data = json.loads(details["data"].payloads[0].data)
    if data.get("activity_type") == "start_notification":
        return str(data["activity_id"])
    return None
