"""Read commands through the API, in the logged-in person's scope: show, tasks, overdue,
returns, mail, staff. `sla due` stays local (arithmetic on the calendar)."""

from __future__ import annotations

import sys
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from commands.api import api
from commands.common import UserError, console, print_json
from commands.views import (
    mail_table,
    print_overdue,
    print_timeline,
    short_time,
    task_list_table,
    tasks_table,
    whole_column,
)

Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def case_data(case_id: str, *, reveal: bool = False, reason: str | None = None) -> dict[str, Any]:
    """The case as the API shows it to the logged-in person (revealing is audited)."""
    path = f"/cases/{quote(case_id, safe='')}"
    if reveal:
        if not reason:
            raise UserError("--reveal needs --reason: say why you need the worker's details")
        data: dict[str, Any] = api().post(f"{path}/reveal", {"reason": reason})
    else:
        data = api().get(path)
    data["returns"] = returns_of(data)
    return data


def returns_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"task": e["task"], "by": e["actor"], "detail": e["detail"]}
        for e in data.get("timeline", [])
        if e["action"] == "returned"
    ]


def print_case(data: dict[str, Any]) -> None:
    """A case for people: worker (masked unless revealed), routing, clocks, timeline, mail."""
    case_id = data["id"]
    w = data["worker"]
    console.print(
        f"[bold]{case_id}[/]  {data['status']}  {data['category']}"
        f"{'  [red]urgent[/]' if data['urgent'] else ''}"
    )
    who = (
        f"已清除 (personal data purged {data['purged_at'][:10]})"
        if data.get("purged_at")
        else f"{w['name']} {w['phone']}"
    )
    console.print(
        f"worker {who} · {data['occupation']}"
        f"{' · ' + data['platform'] if data['platform'] else ''} · via {data['channel']}"
    )
    console.print(f"summary: {data['summary']}", markup=False)
    r = data["routing"]
    console.print(f"routing: rule {r['rule']} (rules {r['rules_version']}), plan {r['sla_plan']}")
    for line in r["explanation"]:
        console.print(f"  · {line}", markup=False)
    cc = data["case_clock"]
    console.print(
        f"case clock (the worker's view): open since {cc['opened_at'][:16]}, "
        f"{cc['elapsed']} of working time" + (" — closed" if cc["closed"] else "")
    )
    console.print(tasks_table(data["tasks"]))
    for t in data["tasks"]:
        if t["role"] != "lead" and t["reply"]:
            kind = "platform answer" if t["role"] == "liaison" else "opinion (协办意见)"
            console.print(f"  {kind} of {t['office_name']}: {t['reply']}", markup=False)
    print_timeline(events_data=data["timeline"])
    if data["mail"]:
        console.print(mail_table(data["mail"], title="e-mail (outbox)"))
    if data["reply"]:
        console.print(f"reply to the worker: {data['reply']}", markup=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def show(
        case: str,
        as_json: Json = False,
        reveal: Annotated[
            bool, typer.Option("--reveal", help="show the worker's name, phone and ID (audited)")
        ] = False,
        reason: Annotated[
            str | None, typer.Option(help="why you need the worker's details (with --reveal)")
        ] = None,
    ) -> None:
        """A case: its worker (masked), routing, tasks with deadlines, and timeline."""
        data = case_data(case, reveal=reveal, reason=reason)
        if as_json:
            print_json(data)
        else:
            print_case(data)

    @app.command("tasks")
    def tasks_(
        department: Annotated[str | None, typer.Option()] = None,
        region: Annotated[str | None, typer.Option()] = None,
        status: Annotated[str | None, typer.Option()] = None,
        open_only: Annotated[bool, typer.Option("--open", help="open tasks only")] = False,
        due_first: Annotated[
            bool, typer.Option("--due-first", help="nearest deadline first")
        ] = False,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 200,
        as_json: Json = False,
    ) -> None:
        """The tasks in your scope, newest first, by office and status."""
        data: list[dict[str, Any]] = api().get(
            "/tasks",
            department=department,
            region=region,
            status=status,
            open=open_only or None,
            order="due" if due_first else None,
            limit=limit,
        )
        if as_json:
            print_json(data)
            return
        console.print(task_list_table(data))

    @app.command()
    def overdue(
        department: Annotated[str | None, typer.Option()] = None,
        region: Annotated[str | None, typer.Option()] = None,
        clock: Annotated[str | None, typer.Option(help="sign_for, reply, statutory …")] = None,
        category: Annotated[str | None, typer.Option()] = None,
        within: Annotated[
            str | None, typer.Option(help="due within this period, not yet late: e.g. 1wd")
        ] = None,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV for spreadsheets")] = False,
        limit: Annotated[
            int, typer.Option(min=0, help="at most this many tasks, most overdue first; 0: all")
        ] = 500,
        as_json: Json = False,
    ) -> None:
        """Open tasks past a deadline in your scope, most overdue first; or, with --within,
        due soon."""
        filters = {
            "department": department,
            "region": region,
            "clock": clock,
            "category": category,
            "within": within,
        }
        if as_csv:
            # Streamed as the API writes it: any length in constant memory.
            api().stream_to(sys.stdout, "/supervision/overdue.csv", limit=limit, **filters)
            return
        rows: list[dict[str, Any]] = api().get("/supervision/overdue", limit=limit, **filters)
        if as_json:
            print_json(rows)
        else:
            print_overdue(rows, soon=within is not None)
            if limit and len(rows) == limit:
                console.print(
                    f"showing the first {limit}; narrow with --department, --region, "
                    "--clock or --category, or pass --limit 0 for all"
                )

    @app.command()
    def returns(
        since: Annotated[str | None, typer.Option(help="ISO date, e.g. 2026-11-01")] = None,
        department: Annotated[str | None, typer.Option()] = None,
        as_json: Json = False,
    ) -> None:
        """Returns (退单) per office and designations received; who returns most first."""
        data: list[dict[str, Any]] = api().get(
            "/supervision/returns", since=since, department=department
        )
        if as_json:
            print_json(data)
            return
        if not data:
            console.print("no returns or designations")
            return
        table = Table(title="returns (退单) and designations (指定承办) by office")
        for col in ("office", "department", "region", "returns", "designated to"):
            table.add_column(col, overflow="fold")
        whole_column(table, "last", [short_time(r["last_at"]) for r in data])
        for r in data:
            table.add_row(
                r["office_name"],
                r["department"],
                r["region"],
                str(r["returns"]),
                str(r["designated_to"]),
                short_time(r["last_at"]),
            )
        console.print(table)

    @app.command()
    def staff(
        department: Annotated[str | None, typer.Option()] = None,
        region: Annotated[str | None, typer.Option()] = None,
        role: Annotated[str | None, typer.Option()] = None,
        as_json: Json = False,
    ) -> None:
        """The staff directory: id, name, role, department, region, office."""
        people: list[dict[str, Any]] = api().get(
            "/staff", department=department, region=region, role=role
        )
        if as_json:
            print_json(people)
            return
        table = Table(title=f"staff ({len(people)})")
        whole_column(table, "id", [m["id"] for m in people])
        for col in ("name", "role", "department", "region", "office"):
            table.add_column(col, overflow="fold")
        for m in people:
            table.add_row(
                m["id"],
                m["name"],
                m["role"],
                m["department"],
                f"{m['region']} {m.get('region_name') or ''}".strip(),
                m["office"] or "",
            )
        console.print(table)
