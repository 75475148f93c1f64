"""`appeals queue review | extensions | callbacks`: the queues people work from, through
the API, in the logged-in person's scope, each with its clock."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from commands.api import api
from commands.common import console, print_json
from commands.views import short_time, whole_column

app = typer.Typer(
    help="The queues: dispatch review, extension requests, callbacks (回访), with their clocks.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _clock(row: dict[str, Any]) -> str:
    if not row.get("due_at"):
        return "—"
    return f"{short_time(row['due_at'])} ({row['left']})"


def _show(rows: list[dict[str, Any]], title: str, empty: str, columns: dict[str, Any]) -> None:
    if not rows:
        console.print(empty)
        return
    table = Table(title=f"{title} ({len(rows)})")
    first, *rest = columns.items()
    whole_column(table, first[0], [first[1](r) for r in rows])
    for name, _ in rest:
        table.add_column(name, overflow="fold")
    for r in rows:
        style = "red" if r.get("late") else None
        table.add_row(*(str(get(r)) for get in columns.values()), style=style)
    console.print(table)


@app.command()
def review(as_json: Json = False) -> None:
    """Cases in dispatch review (派单异议审核) waiting for a designation, with the review
    clock, the soonest due first."""
    rows: list[dict[str, Any]] = api().get("/supervision/review")
    if as_json:
        print_json(rows)
        return
    _show(
        rows,
        "dispatch review (派单审核)",
        "no case waits for a designation",
        {
            "case": lambda r: r["case"],
            "category": lambda r: r["category"],
            "review due": _clock,
            "returns": lambda r: "; ".join(f"{x['by']}: {x['reason']}" for x in r["returns"]),
        },
    )


@app.command()
def extensions(as_json: Json = False) -> None:
    """Extension requests (延期申请) waiting for a decision, the soonest due first."""
    rows: list[dict[str, Any]] = api().get("/supervision/extensions")
    if as_json:
        print_json(rows)
        return
    _show(
        rows,
        "extension requests (延期申请)",
        "no extension request waits for a decision",
        {
            "task": lambda r: r["task"],
            "office": lambda r: r["office_name"],
            "clock": lambda r: r["clock"],
            "due": lambda r: f"{short_time(r['due_at'])} ({r['left']})" if r["due_at"] else "—",
            "asks": lambda r: f"+{r['period']}",
            "reason": lambda r: r["reason"],
            "by": lambda r: r["requested_by"],
        },
    )


@app.command()
def callbacks(as_json: Json = False) -> None:
    """Cases awaiting the callback (回访) with the callback clock, the soonest due first."""
    rows: list[dict[str, Any]] = api().get("/supervision/callbacks")
    if as_json:
        print_json(rows)
        return
    _show(
        rows,
        "awaiting callback (待回访)",
        "no case awaits a callback",
        {
            "case": lambda r: r["case"],
            "category": lambda r: r["category_label"],
            "callback due": _clock,
            "urgent": lambda r: "urgent" if r["urgent"] else "",
        },
    )
