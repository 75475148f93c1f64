"""How cases, tasks, clocks and mail look to people: JSON-ready dicts that the API,
the web screens and the CLI all show."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from db.tables import CaseRow, DeadlineRow, EventRow, OutboxRow, TaskRow
from models.intake import mask_id, mask_name, mask_phone
from services.privacy import masked_summary
from settings import Settings
from sla import WorkCalendar, format_working_duration, load_overrides, working_time_between


def iso(dt: datetime | None, s: Settings) -> str | None:
    return None if dt is None else dt.astimezone(s.tz).isoformat()


def late_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h{mins:02d}m"


@lru_cache(maxsize=4)
def calendar_for(rules_dir: Path) -> WorkCalendar:
    return WorkCalendar(load_overrides(rules_dir / "calendar.yaml"))


def time_left(due: datetime, now: datetime, mode: str, s: Settings) -> tuple[timedelta, str]:
    """Remaining (positive) or overdue (negative) time in the clock's own terms:
    office time for working-day clocks, wall time for the others."""
    if mode == "working":
        left = working_time_between(now, due, calendar=calendar_for(s.rules_dir), tz=s.tz)
        text = format_working_duration(abs(left))
    else:
        left = due - now
        text = late_text(abs(left))
    return left, ("剩余 " if left >= timedelta(0) else "超期 ") + text


# A task that ends this way stops every clock still going: the office handed the
# matter on, so its clocks were neither met nor missed.
HANDED_ON = ("returned", "transferred", "cancelled")


def ended_by(d: DeadlineRow, task: TaskRow | None) -> str | None:
    """``returned``, ``transferred`` or ``cancelled`` when the task's end stopped this
    clock; None when the clock stopped on its own event (signed for, replied) or runs."""
    if task is None or task.status not in HANDED_ON or d.stopped_at is None:
        return None
    if task.closed_at is not None and d.stopped_at < task.closed_at:
        return None  # stopped earlier by its own event (e.g. 签收 before the return)
    return task.status


def deadline_dict(
    d: DeadlineRow, s: Settings, now: datetime, *, task: TaskRow | None = None
) -> dict[str, Any]:
    """A clock for people. ``result`` is ``met``, ``missed``, ``stopped`` (the task was
    returned, transferred or cancelled first: ``ended_by`` says which) or None while
    the clock has not ended."""
    running = d.running_due_at is not None
    detail = json.loads(d.detail) if d.detail else {}
    events = detail.get("events", [])
    handed_on = ended_by(d, task)
    finished = d.stopped_at is not None and d.due_at is not None and handed_on is None
    met = finished and d.stopped_at <= d.due_at  # type: ignore[operator]
    result = "stopped" if handed_on else ("met" if met else "missed") if finished else None
    out: dict[str, Any] = {
        "clock": d.clock,
        "label": d.label,
        "period": d.period,
        "status": d.status if (running or d.status != "running") else "stopped",
        "due_at": iso(d.due_at, s),
        "stopped_at": iso(d.stopped_at, s),
        "running": running,
        "paused": d.status == "paused",
        "overdue": running and d.due_at is not None and d.due_at < now,
        "met": met,
        "result": result,
        "ended_by": handed_on,
        "remaining": None,
        "pauses": detail.get("pauses", []),
        "extensions": detail.get("extensions", []),
        "warnings_fired": [
            e["key"] for e in events if e.get("kind") == "warning" and e.get("fired_at")
        ],
        "rungs_fired": [
            e["key"] for e in events if e.get("kind") == "breach" and e.get("fired_at")
        ],
        "plan": detail.get("plan"),
    }
    if running and d.due_at is not None:
        left, text = time_left(d.due_at, now, d.mode, s)
        out["remaining_seconds"] = int(left.total_seconds())
        out["remaining"] = text
    return out


def task_dict(
    t: TaskRow, deadlines: list[DeadlineRow], s: Settings, now: datetime
) -> dict[str, Any]:
    return {
        "id": t.task_id,
        "case_id": t.case_id,
        "role": t.role,
        "status": t.status,
        "department": t.department,
        "region": t.region,
        "office": t.office_id,
        "office_name": t.office_name,
        "dispatched_at": iso(t.dispatched_at, s),
        "accepted_at": iso(t.accepted_at, s),
        "closed_at": iso(t.closed_at, s),
        "outcome": t.outcome,
        "reply": t.reply,
        "deadlines": {d.clock: deadline_dict(d, s, now, task=t) for d in deadlines},
    }


def event_dict(e: EventRow, s: Settings) -> dict[str, Any]:
    return {
        "at": iso(e.at, s),
        "task": e.task_id,
        "actor": e.actor,
        "action": e.action,
        "detail": e.detail,
        "data": json.loads(e.data) if e.data else {},
    }


def case_dict(c: CaseRow, s: Settings, *, reveal: bool) -> dict[str, Any]:
    return {
        "id": c.case_id,
        "status": c.status,
        "request_id": c.request_id,
        "category": c.category,
        "occupation": c.occupation,
        "platform": c.platform,
        "channel": c.channel,
        "urgent": c.urgent,
        "worker": _worker(c, reveal=reveal),
        "summary": c.summary if reveal else masked_summary(c),
        # Set once `appeals purge` took the worker's data out: the worker shows 已清除.
        "purged_at": iso(c.purged_at, s),
        "residence": c.residence,
        "workplace": c.workplace,
        "incident": c.incident,
        "opened_at": iso(c.opened_at, s),
        "closed_at": iso(c.closed_at, s),
        "routing": {
            "rule": c.rule_id,
            "rules_version": c.rules_version,
            "sla_plan": c.sla_plan,
            "lead": {"department": c.lead_department, "region": c.lead_region},
            "explanation": (c.routing_explanation or "").splitlines(),
        },
        "reply": c.reply,
        "callback": c.callback,
        "callback_remark": c.callback_remark,
        "priority": c.priority,
        "repeat_of": c.repeat_of,  # the recently closed case this one repeats
    }


PURGED_LABEL = "已清除"


def _worker(c: CaseRow, *, reveal: bool) -> dict[str, str | None]:
    if c.purged_at is not None:
        return {"name": PURGED_LABEL, "phone": PURGED_LABEL, "id_number": None}
    return {
        "name": c.name if reveal else mask_name(c.name),
        "phone": c.phone if reveal else mask_phone(c.phone),
        "id_number": c.id_number if reveal else mask_id(c.id_number),
    }


def outbox_dict(m: OutboxRow, s: Settings) -> dict[str, Any]:
    return {
        "id": m.id,
        "case": m.case_id,
        "task": m.task_id,
        "clock": m.clock,
        "event": m.event,
        "to": m.recipients,
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "last_error": m.last_error,
        # Per recipient: {"address": {"status": "sent" | "refused", "reply": …, "at": …}}
        "delivery": json.loads(m.delivery) if m.delivery else {},
        "created_at": iso(m.created_at, s),
        "sent_at": iso(m.sent_at, s),
        # The outbox relay's next try of a queued or retrying mail (None: not the relay's).
        "next_attempt_at": iso(m.next_attempt_at, s),
    }


def case_clock(case: CaseRow, s: Settings, now: datetime) -> dict[str, Any]:
    """How long the case has taken in the worker's eyes: from intake, across every
    return and transfer, in working time."""
    end = case.closed_at or now
    worked = working_time_between(case.opened_at, end, calendar=calendar_for(s.rules_dir), tz=s.tz)
    return {
        "opened_at": iso(case.opened_at, s),
        "elapsed_seconds": int(worked.total_seconds()),
        "elapsed": format_working_duration(worked),
        "closed": case.closed_at is not None,
    }


CSV_FIELDS = (
    "task",
    "case",
    "category",
    "department",
    "region",
    "office_name",
    "status",
    "clock",
    "due_at",
    "late_seconds",
    "working_time",
)
