"""Clock ledgers: budgets, pauses, extensions and the points where warnings and
escalation rungs fall. Pure: the clock activity calls it and records the result in
history, so a calendar update never changes a running case on replay.

A clock's *budget* is measured in its own time: office time on working days for
``wd``/``wh`` periods ("working" mode), wall time for ``d``/``h``/``m`` ("elapsed").
The due time is where the budget runs out, counted from when the clock last started
running with what it had already spent. That makes a pause exact (nothing is
spent while paused), an extension exact (it adds budget), and a change of plan
retroactive (the new budget is measured from the clock's original start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models.sla import (
    ClockEvent,
    ClockOp,
    ClockRequest,
    ClockSpec,
    ClockState,
    ClockStatus,
    ExtensionStatus,
)
from sla.arithmetic import _office_intervals, add_working_time, due_at, working_time_between
from sla.calendar import WorkCalendar
from sla.hours import OfficeHours
from sla.periods import Period, Unit

WORKING_UNITS = (Unit.wd, Unit.wh)


def to_minute(td: timedelta) -> timedelta:
    """Time spent is kept to the minute: deadlines are read to the minute, and a pause
    of a few seconds must not push a deadline at the close of office hours into the
    next morning."""
    return timedelta(minutes=round(td / timedelta(minutes=1)))


def mode_for(period: str) -> str:
    return "working" if Period.parse(period).unit in WORKING_UNITS else "elapsed"


@dataclass(frozen=True)
class ClockMath:
    calendar: WorkCalendar
    tz: ZoneInfo
    hours: OfficeHours = OfficeHours()

    # ---- time in a clock's own mode -----------------------------------------

    def between(self, start: datetime, end: datetime, mode: str) -> timedelta:
        if mode == "working":
            return working_time_between(
                start, end, calendar=self.calendar, hours=self.hours, tz=self.tz
            )
        return end - start

    def advance(self, start: datetime, amount: timedelta, mode: str) -> datetime:
        """The instant ``amount`` of the clock's time after ``start`` (before, if negative)."""
        if mode != "working":
            return (start.astimezone(UTC) + amount).astimezone(self.tz)
        if amount >= timedelta(0):
            return add_working_time(
                start, amount, calendar=self.calendar, hours=self.hours, tz=self.tz
            )
        return self._rewind(start, -amount)

    def _rewind(self, end: datetime, amount: timedelta) -> datetime:
        # Mirror of add_working_time: walk back through office intervals. Needed when
        # a smaller new plan puts the breach in the past (retroactive replan).
        cursor = end.astimezone(UTC)
        remaining = amount
        day = end.astimezone(self.tz).date()
        while True:
            if self.calendar.is_workday(day):
                for opens, closes in reversed(_office_intervals(day, self.hours, self.tz)):
                    if opens >= cursor:
                        continue
                    stop = min(closes, cursor)
                    available = stop - opens
                    if remaining <= available:
                        return (stop - remaining).astimezone(self.tz)
                    remaining -= available
            day -= timedelta(days=1)

    def nominal(self, period: str, mode: str) -> timedelta:
        """A period's length in the clock's own time, wherever it is added: an
        extension of 2wd is two office days, not "to the close of the second
        working day" from some instant in the middle of a day."""
        p = Period.parse(period)
        if p.unit is Unit.wd:
            per_day = self.hours.daily_total() if mode == "working" else timedelta(days=1)
            return per_day * p.value
        if p.unit is Unit.d:
            return timedelta(days=p.value)
        return p.exact()

    def measure(self, start: datetime, period: str, mode: str) -> timedelta:
        """How much of the clock's time ``period`` gives when it starts at ``start``."""
        due = due_at(
            start, Period.parse(period), calendar=self.calendar, hours=self.hours, tz=self.tz
        )
        return self.between(start, due, mode)

    def next_office_time(self, moment: datetime) -> datetime:
        """``moment`` if the office is open then, else its next opening (no mail at night)."""
        at = moment.astimezone(UTC)
        day = moment.astimezone(self.tz).date()
        while True:
            if self.calendar.is_workday(day):
                for opens, closes in _office_intervals(day, self.hours, self.tz):
                    if at < opens:
                        return opens.astimezone(self.tz)
                    if at < closes:
                        return at.astimezone(self.tz)
            day += timedelta(days=1)

    # ---- operations ---------------------------------------------------------------

    def apply(self, req: ClockRequest) -> ClockState:
        clock = req.clock.model_copy(deep=True)
        clock.urgent = req.urgent or clock.urgent
        at = req.at
        match req.op:
            case ClockOp.start:
                self._start(clock, at, req.plan)
            case ClockOp.pause:
                self._pause(clock, at)
            case ClockOp.resume:
                self._resume(clock, at)
            case ClockOp.extend:
                assert req.period is not None
                self._extend(clock, at, req.period)
            case ClockOp.replan:
                assert req.spec is not None
                self._replan(clock, at, req.spec, req.plan)
            case ClockOp.reschedule:
                pass
        self._schedule(clock, at)
        return clock

    def _start(self, clock: ClockState, at: datetime, plan: str | None) -> None:
        clock.mode = mode_for(clock.spec.period)
        clock.status = ClockStatus.running
        clock.started_at = at
        clock.running_since = at
        clock.spent = timedelta(0)
        clock.budget = self.measure(at, clock.spec.period, clock.mode)
        clock.plan = plan or clock.plan
        # The legal deadline itself, not a round trip through the budget.
        clock.due_at = due_at(
            at,
            Period.parse(clock.spec.period),
            calendar=self.calendar,
            hours=self.hours,
            tz=self.tz,
        )

    def _pause(self, clock: ClockState, at: datetime) -> None:
        assert clock.running_since is not None
        clock.spent = to_minute(clock.spent + self.between(clock.running_since, at, clock.mode))
        clock.running_since = None
        clock.status = ClockStatus.paused
        clock.due_at = None

    def _resume(self, clock: ClockState, at: datetime) -> None:
        pause = clock.pauses[-1]
        pause.worked = self.between(pause.started_at, at, clock.mode)
        clock.status = ClockStatus.running
        clock.running_since = at
        clock.due_at = self.advance(at, clock.budget - clock.spent, clock.mode)

    def _extend(self, clock: ClockState, at: datetime, period: str) -> None:
        added = self.nominal(period, clock.mode)
        clock.budget += added
        pending = [
            e for e in clock.extensions if e.status is ExtensionStatus.approved and e.added is None
        ]
        for e in pending:
            e.added = added
        if clock.status is ClockStatus.running and clock.running_since is not None:
            clock.due_at = self.advance(clock.running_since, clock.budget - clock.spent, clock.mode)

    def _replan(self, clock: ClockState, at: datetime, spec: ClockSpec, plan: str | None) -> None:
        """Retroactive: the new period counts from the clock's original start, and the
        time already spent (less pauses) is kept, as ServiceNow's retroactive start."""
        clock.spec = spec.model_copy(update={"name": clock.spec.name})
        clock.plan = plan or clock.plan
        if clock.started_at is None or clock.status is ClockStatus.stopped:
            return
        clock.mode = mode_for(spec.period)
        # Extensions and pauses are measured again in the new plan's own time.
        extra = sum(
            (
                self.nominal(e.period, clock.mode)
                for e in clock.extensions
                if e.status is ExtensionStatus.approved
            ),
            timedelta(0),
        )
        for p in clock.pauses:
            if p.ended_at is not None:
                p.worked = self.between(p.started_at, p.ended_at, clock.mode)
        clock.budget = self.measure(clock.started_at, spec.period, clock.mode) + extra
        paused = sum(
            (self.between(p.started_at, p.ended_at or at, clock.mode) for p in clock.pauses),
            timedelta(0),
        )
        clock.spent = to_minute(self.between(clock.started_at, at, clock.mode) - paused)
        if clock.status is ClockStatus.running:
            clock.running_since = at
            clock.due_at = self.advance(at, clock.budget - clock.spent, clock.mode)

    # ---- warnings and rungs -----------------------------------------------------------

    def _schedule(self, clock: ClockState, now: datetime) -> None:
        fired = {e.key: e for e in clock.events if e.fired_at is not None}
        events: list[ClockEvent] = []
        running = clock.status is ClockStatus.running and clock.running_since is not None
        for fraction in clock.spec.warnings:
            key = f"warning-{round(fraction * 100)}"
            at = None
            if running:
                assert clock.running_since is not None
                at = self.advance(
                    clock.running_since, clock.budget * fraction - clock.spent, clock.mode
                )
            events.append(
                fired.get(key)
                or ClockEvent(
                    key=key, kind="warning", fraction=fraction, recipients=["office"], at=at
                )
            )
        previous = clock.due_at if running else None
        last_fired: datetime | None = None
        for rung in sorted(clock.spec.ladder, key=lambda r: r.rung):
            key = f"rung-{rung.rung}"
            at = None
            if previous is not None:
                at = (
                    due_at(
                        previous,
                        Period.parse(rung.after),
                        calendar=self.calendar,
                        hours=self.hours,
                        tz=self.tz,
                    )
                    if rung.after != "0m"
                    else previous
                )
            if previous is not None and last_fired is not None and at is not None:
                # A rung never falls before one already mailed (an extension after a
                # breach moves the rest of the ladder with the new due time).
                at = max(at, last_fired)
            if key in fired:
                events.append(fired[key])
                last_fired = fired[key].fired_at
                previous = at
            else:
                events.append(
                    ClockEvent(
                        key=key, kind="breach", rung=rung.rung, recipients=list(rung.to), at=at
                    )
                )
                previous = at
        for e in events:
            if e.fired_at is None:
                e.notify_at = (
                    None
                    if e.at is None
                    else (e.at if clock.urgent else self.next_office_time(e.at))
                )
        if clock.status is ClockStatus.paused and clock.spec.max_pause:
            events.append(self._auto_resume(clock, now))
        clock.events = events

    def _auto_resume(self, clock: ClockState, now: datetime) -> ClockEvent:
        """A pause cannot outlast the plan's allowance: resume on its own when spent."""
        assert clock.spec.max_pause is not None and clock.started_at is not None
        pause = clock.pauses[-1]
        # The allowance is measured from this pause's start: "at most 10wd" then ends
        # at the close of office hours, as a deadline of that period would.
        allowed = self.measure(pause.started_at, clock.spec.max_pause, clock.mode)
        used = sum((p.worked or timedelta(0) for p in clock.pauses[:-1]), timedelta(0))
        at = self.advance(pause.started_at, max(allowed - used, timedelta(0)), clock.mode)
        return ClockEvent(
            key=f"auto-resume-{len(clock.pauses)}", kind="auto_resume", at=at, notify_at=at
        )
