"""Calendar arithmetic as an activity, so a calendar update never changes history."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from temporalio import activity

from activities.calendar_source import CalendarSource
from models.sla import (
    ClockRequest,
    ClockState,
    DeadlineRequest,
    DeadlineResult,
    OfficeTimeRequest,
    OfficeTimeResult,
)
from sla import OfficeHours, Period, WorkCalendar, due_at
from sla.ledger import ClockMath


class ClockActivities:
    """Calendar arithmetic on the calendar as it is now (a ``CalendarSource`` follows
    ``calendar.yaml``; a fixed ``WorkCalendar`` is for tests of one piece)."""

    def __init__(
        self,
        calendar: WorkCalendar | CalendarSource,
        tz: ZoneInfo,
        hours: OfficeHours | None = None,
    ):
        self._source = calendar
        self._tz = tz
        self._hours = hours or OfficeHours()

    @property
    def _calendar(self) -> WorkCalendar:
        s = self._source
        return s.get() if isinstance(s, CalendarSource) else s

    @activity.defn(name="compute_deadlines", no_thread_cancel_exception=True)
    def compute_deadlines(self, req: DeadlineRequest) -> DeadlineResult:
        due = [
            due_at(
                req.start, Period.parse(p), calendar=self._calendar, hours=self._hours, tz=self._tz
            )
            for p in req.periods
        ]
        return DeadlineResult(due=due)

    @activity.defn(name="clock_op", no_thread_cancel_exception=True)
    def clock_op(self, req: ClockRequest) -> ClockState:
        """One operation on a clock's ledger (start, pause, resume, extend, replan)."""
        hours = OfficeHours.model_validate(req.office_hours) if req.office_hours else self._hours
        return ClockMath(self._calendar, self._tz, hours).apply(req)

    @activity.defn(name="office_time", no_thread_cancel_exception=True)
    def office_time(self, req: OfficeTimeRequest) -> OfficeTimeResult:
        """``req.at`` if the office is open then, else its next opening (calendar data:
        an activity, so a calendar update never changes a recorded decision)."""
        hours = OfficeHours.model_validate(req.office_hours) if req.office_hours else self._hours
        return OfficeTimeResult(
            at=ClockMath(self._calendar, self._tz, hours).next_office_time(req.at)
        )
