"""What a process that runs for good freezes at start (worker.freeze_startup_heap)
includes the calendar data of the years deadlines fall in: a deadline in a year
chinese_calendar does not know then adds next to nothing that every later full
collection must scan. Run in a process of its own: the test process never freezes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc
from datetime import date, datetime
import worker
from sla.arithmetic import SHANGHAI
from sla.calendar import WorkCalendar, load_sources
{prepare}
before = len(gc.get_objects())  # what full collections scan: not the frozen objects
next_year = datetime.now(SHANGHAI).year + 1
WorkCalendar().is_workday(date(next_year, 1, 4))
gc.collect()
print(len(gc.get_objects()) - before)
"""


def new_objects(prepare: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(prepare=prepare)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    return int(done.stdout.split()[-1])


def test_the_next_years_calendar_is_frozen_with_the_start_up_heap() -> None:
    # Without loading first (the freeze alone): what the next year's first deadline
    # loads stays behind for every collection to scan.
    bare = new_objects("gc.collect(); gc.freeze()")
    frozen = new_objects("worker.freeze_startup_heap()")
    assert frozen < 1_000 < bare, (frozen, bare)
