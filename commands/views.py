"""How cases, tasks, clocks and mail look to people: JSON-ready dicts and rich tables."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from rich.table import Table

from commands.common import console, iso
from db.tables import CaseRow, DeadlineRow, EventRow, OutboxRow, TaskRow
from models.intake import mask_id, mask_name, mask_phone
from settings import Settings
from sla import WorkCalendar, format_working_duration, load_overrides, working_time_between


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


def deadline_dict(d: DeadlineRow, s: Settings, now: datetime) -> dict[str, Any]:
    running = d.running_due_at is not None
    detail = json.loads(d.detail) if d.detail else {}
    events = detail.get("events", [])
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
        "met": d.stopped_at is not None and d.due_at is not None and d.stopped_at <= d.due_at,
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
        "deadlines": {d.clock: deadline_dict(d, s, now) for d in deadlines},
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
        "worker": {
            "name": c.name if reveal else mask_name(c.name),
            "phone": c.phone if reveal else mask_phone(c.phone),
            "id_number": c.id_number if reveal else mask_id(c.id_number),
        },
        "summary": c.summary,
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
    }


def _clock_state(d: dict[str, Any]) -> str:
    if d.get("overdue"):
        return "[red]overdue[/]"
    if d.get("paused"):
        return "[yellow]paused[/]"
    if d.get("running"):
        return "running"
    if d.get("status") == "pending":
        return "pending"
    if d.get("stopped_at"):
        return "met" if d.get("met") else "[red]missed[/]"
    return str(d.get("status", ""))


def tasks_table(tasks: list[dict[str, Any]]) -> Table:
    """Every clock of every task: due, time left or overdue, state, extensions, alerts."""
    table = Table(title="tasks and clocks", show_lines=True)
    for col in ("task", "office", "status", "clock", "due", "left", "state", "ext.", "fired"):
        table.add_column(col, overflow="fold")
    for t in tasks:
        first = True
        for d in t["deadlines"].values() or [{}]:
            ext = [f"+{e['period']} {e['status']}" for e in d.get("extensions", [])]
            pauses = len(d.get("pauses", []))
            fired = [
                k.replace("warning-", "w").replace("rung-", "r")
                for k in d.get("warnings_fired", []) + d.get("rungs_fired", [])
            ]
            table.add_row(
                f"{t['id']}\n{t['role']}" if first else "",
                t["office_name"] if first else "",
                t["status"] if first else "",
                f"{d.get('label', '')} {d.get('period', '')}",
                (d.get("due_at") or "")[:16].replace("T", " "),
                d.get("remaining") or "",
                _clock_state(d) + (f" ({pauses} pause)" if pauses else ""),
                ", ".join(ext),
                " ".join(fired),
            )
            first = False
    return table


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
        "created_at": iso(m.created_at, s),
        "sent_at": iso(m.sent_at, s),
    }


def mail_table(rows: list[dict[str, Any]], *, title: str) -> Table:
    table = Table(title=title)
    for col in ("decided", "event", "to", "status", "tries", "error"):
        table.add_column(col, overflow="fold")
    for m in rows:
        status = m["status"] if m["status"] == "sent" else f"[yellow]{m['status']}[/]"
        table.add_row(
            (m["created_at"] or "")[:16].replace("T", " "),
            m["event"],
            m["to"],
            status,
            str(m["attempts"]),
            m["last_error"] or "",
        )
    return table


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


def print_timeline(*, events_data: list[dict[str, Any]], title: str = "timeline") -> None:
    table = Table(title=title)
    for col in ("at", "task", "who", "what", "detail"):
        table.add_column(col, overflow="fold")
    for e in events_data:
        table.add_row(
            (e["at"] or "")[:19].replace("T", " "),
            (e["task"] or "").split("-")[-1],
            e["actor"] or "",
            e["action"],
            e["detail"] or "",
        )
    console.print(table)


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


def print_overdue(rows: list[dict[str, Any]], *, soon: bool = False) -> None:
    if not rows:
        console.print("no tasks due soon" if soon else "no overdue tasks")
        return
    title = f"due soon ({len(rows)})" if soon else f"overdue tasks ({len(rows)})"
    table = Table(title=title)
    for col in ("task", "office", "status", "clock", "due", "time", "rungs"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["task"],
            r["office_name"],
            r["status"],
            r["clock_label"],
            r["due_at"][:16].replace("T", " "),
            r["working_time"] if soon else f"[red]{r['working_time']}[/]",
            " ".join(r["rungs_fired"]),
        )
    console.print(table)
