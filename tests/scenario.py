"""Scenarios written for fixed dates, played after the test server's clock.

The time-skipping server starts at the real time and only moves forward, so a test
that travels to Thursday 2026-12-31 10:00 cannot run once that instant has passed.
Each scenario keeps the dates it was worked out on (the comments' arithmetic stays
readable) and is played a whole number of weeks later, so a Friday stays a Friday.
The clock stack's calendar is the real one over the written dates moved by the same
weeks, so New Year's Day, the weekends and the make-up workdays fall where the
scenario expects them, whatever the year it is played in.
"""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from sla import WorkCalendar, load_overrides
from sla.calendar import CalendarOverrides

SH = ZoneInfo("Asia/Shanghai")
WRITTEN_FROM = date(2026, 11, 30)  # a Monday; no scenario plays an earlier day
SPAN_DAYS = 400  # the longest scenario (a 60-working-day clock) ends well within
# A suite started just before a scenario's first instant still reaches it in time.
MARGIN = timedelta(days=2)


def _weeks_late(now: datetime) -> timedelta:
    late = now + MARGIN - datetime.combine(WRITTEN_FROM, time(), SH)
    return timedelta(weeks=max(0, math.ceil(late / timedelta(weeks=1))))


SHIFT = _weeks_late(datetime.now(SH))


def moved(when: datetime) -> datetime:
    """The instant a scenario written for ``when`` is played at."""
    return when + SHIFT


def at(text: str) -> datetime:
    """``moved`` for a Shanghai wall-clock time written as ``2027-01-04T09:30``."""
    return moved(datetime.fromisoformat(text).replace(tzinfo=SH))


def day(text: str) -> str:
    """The day a scenario's ``2026-12-07`` is played on, as the same ISO text."""
    return (date.fromisoformat(text) + SHIFT).isoformat()


def stamp(text: str) -> str:
    """``2026-12-07 17:30`` as the mails and pages print it, moved."""
    return at(text.replace(" ", "T")).strftime("%Y-%m-%d %H:%M")


def moved_overrides(source: WorkCalendar) -> CalendarOverrides:
    """Every day of the played span, worked or not as its written day is in ``source``.

    Each day is listed, weekends too: a day left out would be answered by the real
    calendar of the year it is played in, whose holidays fall elsewhere."""
    years: dict[int, dict[str, list[date]]] = {}
    for n in range(SPAN_DAYS):
        written = WRITTEN_FROM + timedelta(days=n)
        played = written + SHIFT
        kind = "workdays" if source.is_workday(written) else "holidays"
        years.setdefault(played.year, {"holidays": [], "workdays": []})[kind].append(played)
    return CalendarOverrides.model_validate({"years": years})


def moved_calendar(source: WorkCalendar) -> WorkCalendar:
    return WorkCalendar(moved_overrides(source))


def overrides_yaml(overrides: CalendarOverrides) -> str:
    """The overrides as ``calendar.yaml`` holds them."""
    data = {
        "years": {
            year: {
                "holidays": [d.isoformat() for d in entry.holidays],
                "workdays": [d.isoformat() for d in entry.workdays],
            }
            for year, entry in overrides.years.items()
        }
    }
    return "# Written by tests/scenario.py: the written dates' calendar, moved.\n" + yaml.safe_dump(
        data, sort_keys=True
    )


def moved_rules(rules_dir: Path, into: Path) -> Path:
    """A copy of ``rules_dir`` in ``into`` whose ``calendar.yaml`` is the written dates'
    calendar, moved as the scenarios' dates are; the copy's path."""
    rules = into / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__pycache__"))
    source = WorkCalendar(load_overrides(rules_dir / "calendar.yaml"))
    (rules / "calendar.yaml").write_text(overrides_yaml(moved_overrides(source)), encoding="utf-8")
    return rules
