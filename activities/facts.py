"""Each task's figures (``task_figures``), derived from the read model of its case.

The projection activity calls ``refresh_case`` after every write touching a case, in
the same transaction, so the figures are as fresh as the read model and a report is
one GROUP BY. The whole case is derived again each time: how a task was received, and
whether a return was wrongful, depend on its sister tasks, and whichever projection
lands last sees them all (so the order projections arrive in does not matter).

Working-hour durations need the calendar, which SQL does not have: that is why they
are computed here, at projection time, and stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel, col

from activities.calendar_source import CalendarSource
from db.tables import CaseRow, DeadlineRow, EventRow, TaskFigureRow, TaskRow
from db.upsert import upsert_rows
from sla.arithmetic import working_time_between
from sla.calendar import WorkCalendar
from sla.hours import OfficeHours

SIGN_CLOCK = "sign_for"
REPLY_CLOCK = "reply"
FIGURE_EVENTS = ("dispatched", "callback")


@dataclass(frozen=True)
class FigureMath:
    """The calendar the working-hour durations are measured on (default office hours:
    an office with hours of its own is measured on the city's)."""

    calendar: WorkCalendar | CalendarSource  # a source follows calendar.yaml's edits
    tz: ZoneInfo
    hours: OfficeHours = OfficeHours()

    def minutes(self, start: datetime, end: datetime) -> int:
        calendar = self.calendar
        if isinstance(calendar, CalendarSource):
            calendar = calendar.get()
        spent = working_time_between(start, end, calendar=calendar, hours=self.hours, tz=self.tz)
        return max(0, round(spent / timedelta(minutes=1)))

    def buckets(self, at: datetime) -> tuple[date, date, date]:
        day = at.astimezone(self.tz).date()
        return day, day - timedelta(days=day.weekday()), day.replace(day=1)


def clock_state(done_at: datetime | None, clock: DeadlineRow | None) -> str | None:
    """``on_time`` / ``late`` / None for one clock, pauses and extensions honoured: the
    ledger's due time already moves with them, and ``breached`` is what the clock
    itself decided (a clock stopped while paused keeps no due time)."""
    if clock is None:
        return None
    if done_at is not None:
        late = clock.breached or (clock.due_at is not None and done_at > clock.due_at)
        return "late" if late else "on_time"
    return "late" if clock.breached else None


def ledger_counts(clocks: Sequence[DeadlineRow]) -> tuple[int, int, int]:
    """(highest rung fired, extensions asked, extensions granted) over a task's clocks."""
    rung = asked = granted = 0
    for c in clocks:
        detail: dict[str, Any] = json.loads(c.detail) if c.detail else {}
        for e in detail.get("events", []):
            if e.get("kind") == "breach" and e.get("fired_at") and e.get("rung"):
                rung = max(rung, int(e["rung"]))
        extensions = detail.get("extensions", [])
        asked += len(extensions)
        granted += sum(1 for e in extensions if e.get("status") == "approved")
    return rung, asked, granted


def derive(
    *,
    case: CaseRow | None,
    tasks: Sequence[TaskRow],
    clocks: Sequence[DeadlineRow],
    events: Sequence[EventRow],
    math: FigureMath,
) -> list[dict[str, Any]]:
    """The ``task_figures`` rows of one case's tasks (pure: rows in, dicts out)."""
    by_task: dict[str, list[DeadlineRow]] = {}
    for c in clocks:
        by_task.setdefault(c.task_id, []).append(c)
    dispatched: dict[str, dict[str, Any]] = {}
    callbacks: list[tuple[datetime, str]] = []
    for e in sorted(events, key=lambda e: (e.at, e.id or 0)):
        data = json.loads(e.data) if e.data else {}
        if e.action == "dispatched" and e.task_id:
            dispatched[e.task_id] = data
        elif e.action == "callback" and data.get("result"):
            callbacks.append((e.at, str(data["result"])))
    ordered = sorted(tasks, key=lambda t: t.seq)
    origins = _origins(ordered, dispatched)
    designated_offices = {
        (t.office_id, t.seq) for t in ordered if origins[t.task_id] == "designation"
    }
    callback_of = _callbacks(ordered, callbacks)
    rows = []
    for t in ordered:
        mine = {c.clock: c for c in by_task.get(t.task_id, [])}
        rung, asked, granted = ledger_counts(by_task.get(t.task_id, []))
        day, week, month = math.buckets(t.dispatched_at)
        replied = t.closed_at if t.status == "completed" else None
        rows.append(
            {
                "task_id": t.task_id,
                "case_id": t.case_id,
                "office_id": t.office_id,
                "office_name": t.office_name,
                "department": t.department,
                "region": t.region,
                "category": t.category,
                "platform": case.platform if case is not None else None,
                "role": t.role,
                "status": t.status,
                "received_at": t.dispatched_at,
                "received_day": day,
                "received_week": week,
                "received_month": month,
                "origin": origins[t.task_id],
                "sign_state": clock_state(t.accepted_at, mine.get(SIGN_CLOCK)),
                "reply_state": clock_state(replied, mine.get(REPLY_CLOCK)),
                "sign_minutes": (
                    math.minutes(t.dispatched_at, t.accepted_at) if t.accepted_at else None
                ),
                "reply_minutes": math.minutes(t.dispatched_at, replied) if replied else None,
                "outcome": t.outcome if t.role == "lead" and replied else None,
                "callback": callback_of.get(t.task_id),
                "returned": t.status == "returned",
                "transferred": t.status == "transferred",
                "wrongful_return": t.status == "returned"
                and any(o == t.office_id and s > t.seq for o, s in designated_offices),
                "max_rung": rung,
                "extensions_asked": asked,
                "extensions_granted": granted,
            }
        )
    return rows


def _origins(ordered: Sequence[TaskRow], dispatched: dict[str, dict[str, Any]]) -> dict[str, str]:
    """How each office received its task. A task started after a return or transfer of
    a task of the same role takes that return or transfer as its origin (each once)."""
    waiting: dict[str, list[TaskRow]] = {}
    out: dict[str, str] = {}
    for t in ordered:
        data = dispatched.get(t.task_id, {})
        queue = waiting.setdefault(t.role, [])
        earlier = [q for q in queue if q.closed_at is not None and q.closed_at <= t.dispatched_at]
        if data.get("reopened"):
            out[t.task_id] = "reopen"
        elif data.get("designated"):
            out[t.task_id] = "designation"
            for q in earlier:  # the designation settles the returns before it
                queue.remove(q)
        elif earlier:
            queue.remove(earlier[0])
            out[t.task_id] = "return" if earlier[0].status == "returned" else "transfer"
        else:
            out[t.task_id] = "routed"
        if t.status in ("returned", "transferred"):
            queue.append(t)
    return out


def _callbacks(
    ordered: Sequence[TaskRow], callbacks: Sequence[tuple[datetime, str]]
) -> dict[str, str]:
    """Each callback judges the lead reply given last before it."""
    out: dict[str, str] = {}
    replies = sorted(
        (t for t in ordered if t.role == "lead" and t.status == "completed" and t.closed_at),
        key=lambda t: t.closed_at or datetime.min,
    )
    for at, result in callbacks:
        before = [t for t in replies if t.closed_at is not None and t.closed_at <= at]
        if before:
            out[before[-1].task_id] = result
    return out


def refresh_case(session: Session, case_id: str, math: FigureMath) -> None:
    """Derive the case's task figures again from what the session sees, and upsert them."""
    # Serialise the case's refreshes on PostgreSQL (SQLite holds one writer anyway): a
    # refresh that read before another committed must not write last.
    case = session.execute(
        select(CaseRow).where(col(CaseRow.case_id) == case_id).with_for_update()
    ).scalar_one_or_none()
    tasks = list(session.scalars(select(TaskRow).where(col(TaskRow.case_id) == case_id)))
    if not tasks:
        return
    clocks = list(session.scalars(select(DeadlineRow).where(col(DeadlineRow.case_id) == case_id)))
    events = list(
        session.scalars(
            select(EventRow).where(
                col(EventRow.case_id) == case_id, col(EventRow.action).in_(FIGURE_EVENTS)
            )
        )
    )
    rows = derive(case=case, tasks=tasks, clocks=clocks, events=events, math=math)
    upsert(session, rows)


def upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    table = SQLModel.metadata.tables[TaskFigureRow.__tablename__]
    columns = [c.name for c in table.columns]
    upsert_rows(session, table, rows, key=["task_id"], update=columns)


def rebuild(engine: Engine, math: FigureMath, *, chunk: int = 500) -> int:
    """Derive the figures of every case again (``appeals report-rebuild``): for a read
    model projected before ``task_figures`` existed, or after a change of formula.
    One transaction per ``chunk`` cases; says how many cases it derived."""
    with Session(engine) as session:
        case_ids = list(session.scalars(select(col(TaskRow.case_id)).distinct()))
    for start in range(0, len(case_ids), chunk):
        with Session(engine) as session:
            for case_id in case_ids[start : start + chunk]:
                refresh_case(session, case_id, math)
            session.commit()
    return len(case_ids)
