"""How cases, tasks, clocks and mail look to people: JSON-ready dicts and rich tables."""

from __future__ import annotations

from typing import Any

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
