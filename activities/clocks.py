"""Calendar arithmetic as an activity, so a calendar update never changes history."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from temporalio import activity

from models.sla import DeadlineRequest, DeadlineResult
from sla import OfficeHours, Period, WorkCalendar, due_at


class ClockActivities:
    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo, hours: OfficeHours | None = None):
        self._calendar = calendar
        self._tz = tz
        self._hours = hours or OfficeHours()

    @activity.defn(name="compute_deadlines")
    def compute_deadlines(self, req: DeadlineRequest) -> DeadlineResult:
        due = [
            due_at(
                req.start, Period.parse(p), calendar=self._calendar, hours=self._hours, tz=self._tz
            )
            for p in req.periods
        ]
        return DeadlineResult(due=due)
