"""How cases, tasks, clocks and mail look to people: JSON-ready dicts and rich tables."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from commands.common import console
from services.views import (  # noqa: F401  (re-exported for the read commands)
    CSV_FIELDS,
    calendar_for,
    case_clock,
    case_dict,
    deadline_dict,
    event_dict,
    late_text,
    outbox_dict,
    task_dict,
    time_left,
)


def whole_column(table: Table, header: str, values: list[str]) -> None:
    """A column that is never cut or wrapped mid-token (ids, dates): as wide as its
    widest line, so a narrow or piped terminal folds the other columns instead."""
    lines = [line for v in values for line in v.splitlines()] or [""]
    width = max(cell_len(header), *(cell_len(line) for line in lines))
    table.add_column(header, no_wrap=True, overflow="ignore", min_width=width)


def short_time(value: str | None, length: int = 16) -> str:
    """``2026-12-07T17:30:00+08:00`` → ``2026-12-07 17:30`` (local time, as stored)."""
    return (value or "")[:length].replace("T", " ")


def _clock_state(d: dict[str, Any]) -> str:
    if d.get("overdue"):
        return "[red]overdue[/]"
    if d.get("paused"):
        return "[yellow]paused[/]"
    if d.get("running"):
        return "running"
    if d.get("status") == "pending":
        return "pending"
    if d.get("ended_by"):
        return f"stopped ({d['ended_by']})"  # handed on: neither met nor missed
    if d.get("stopped_at"):
        return "met" if d.get("met") else "[red]missed[/]"
    return str(d.get("status", ""))


def tasks_table(tasks: list[dict[str, Any]]) -> Table:
    """Every clock of every task: due, time left or overdue, state, extensions, alerts."""
    table = Table(title="tasks and clocks", show_lines=True)
    whole_column(table, "task", [f"{t['id']}\n{t['role']}" for t in tasks])
    for col in ("office", "status", "clock"):
        table.add_column(col, overflow="fold")
    dues = [short_time(d.get("due_at")) for t in tasks for d in t["deadlines"].values()]
    whole_column(table, "due", dues)
    for col in ("left", "state", "ext.", "fired"):
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
                short_time(d.get("due_at")),
                d.get("remaining") or "",
                _clock_state(d) + (f" ({pauses} pause)" if pauses else ""),
                ", ".join(ext),
                " ".join(fired),
            )
            first = False
    return table


def mail_table(rows: list[dict[str, Any]], *, title: str) -> Table:
    table = Table(title=title)
    whole_column(table, "decided", [short_time(m["created_at"]) for m in rows])
    for col in ("event", "to", "status", "tries", "error"):
        table.add_column(col, overflow="fold")
    for m in rows:
        status = m["status"] if m["status"] == "sent" else f"[yellow]{m['status']}[/]"
        table.add_row(
            short_time(m["created_at"]),
            m["event"],
            m["to"],
            status,
            str(m["attempts"]),
            m["last_error"] or "",
        )
    return table


def timeline_table(events_data: list[dict[str, Any]], *, title: str = "timeline") -> Table:
    table = Table(title=title)
    whole_column(table, "at", [short_time(e["at"], 19) for e in events_data])
    whole_column(table, "task", [(e["task"] or "").split("-")[-1] for e in events_data])
    for col in ("who", "what", "detail"):
        table.add_column(col, overflow="fold")
    for e in events_data:
        table.add_row(
            short_time(e["at"], 19),
            (e["task"] or "").split("-")[-1],
            e["actor"] or "",
            e["action"],
            e["detail"] or "",
        )
    return table


def print_timeline(
    *, events_data: list[dict[str, Any]], title: str = "timeline", out: Console = console
) -> None:
    out.print(timeline_table(events_data, title=title))


def overdue_table(rows: list[dict[str, Any]], *, soon: bool = False) -> Table:
    title = f"due soon ({len(rows)})" if soon else f"overdue tasks ({len(rows)})"
    table = Table(title=title)
    whole_column(table, "task", [r["task"] for r in rows])
    for col in ("office", "status", "clock"):
        table.add_column(col, overflow="fold")
    whole_column(table, "due", [short_time(r["due_at"]) for r in rows])
    for col in ("time", "rungs"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["task"],
            r["office_name"],
            r["status"],
            r["clock_label"],
            short_time(r["due_at"]),
            r["working_time"] if soon else f"[red]{r['working_time']}[/]",
            " ".join(r["rungs_fired"]),
        )
    return table


def print_overdue(
    rows: list[dict[str, Any]], *, soon: bool = False, out: Console = console
) -> None:
    if not rows:
        out.print("no tasks due soon" if soon else "no overdue tasks")
        return
    out.print(overdue_table(rows, soon=soon))


def task_list_table(data: list[dict[str, Any]]) -> Table:
    """The tasks list: one row per task, its nearest running deadline."""
    table = Table(title=f"tasks ({len(data)})")
    nexts = [
        short_time(min((d["due_at"] for d in t["deadlines"].values() if d["running"]), default=""))
        for t in data
    ]
    whole_column(table, "task", [t["id"] for t in data])
    for col in ("role", "office", "category", "status"):
        table.add_column(col, overflow="fold")
    whole_column(table, "dispatched", [short_time(t["dispatched_at"]) for t in data])
    whole_column(table, "next due", nexts)
    for t, nxt in zip(data, nexts, strict=True):
        table.add_row(
            t["id"],
            t["role"],
            t["office_name"],
            t["category"],
            t["status"],
            short_time(t["dispatched_at"]),
            nxt,
        )
    return table
