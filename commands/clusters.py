"""`appeals clusters`: concentrated grievances (集中诉求) through the API — the list
(members, size, places, age), designating one lead office (联合处置), its one reply."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from commands.api import api
from commands.common import console, print_json

app = typer.Typer(
    help="Concentrated grievances (集中诉求): clusters of cases sharing a platform or place.",
    invoke_without_command=True,
)
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.callback()
def clusters(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="forming, formed, designated, replied, ended or all")
    ] = None,
    as_json: Json = False,
) -> None:
    """Clusters in your scope (default: formed and later), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    rows: list[dict[str, Any]] = api().get("/clusters", status=status)
    if as_json:
        print_json(rows)
    elif not rows:
        console.print("no clusters" + (f" with status {status}" if status else ""))
    else:
        console.print(clusters_table(rows))


def clusters_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title=f"集中诉求 ({len(rows)})")
    for col in ("cluster", "status", "key", "size", "places", "age", "lead office", "members"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["id"],
            r["status"],
            f"{r['key']} · {r['category_label']}",
            f"{r['size']}/{r['threshold']} in {r['window']}",
            "、".join(p["name"] for p in r["places"]),
            r["age"],
            r["lead_office"] or "",
            " ".join(m["case_id"] for m in r["members"]),
        )
    return t


@app.command()
def designate(
    cluster: str,
    department: Annotated[str, typer.Option(help="the lead office's department code")],
    region: Annotated[str, typer.Option(help="the lead office's region code")],
    reason: Annotated[str, typer.Option()],
    as_json: Json = False,
) -> None:
    """联合处置: one lead office for every member of a formed cluster (supervisors)."""
    body = {"department": department, "region": region, "reason": reason}
    row = api().post(f"/clusters/{cluster}/designate", body)
    if as_json:
        print_json(row)
    else:
        console.print(f"{row['id']}: {row['status']}, led by {row['lead_office']}")


@app.command()
def reply(cluster: str, text: Annotated[str, typer.Option()], as_json: Json = False) -> None:
    """The lead office's one coordinated reply, to every member; each worker is still
    called back on their own case."""
    row = api().post(f"/clusters/{cluster}/reply", {"text": text})
    if as_json:
        print_json(row)
    else:
        console.print(f"{row['id']}: {row['status']} ({row['size']} cases)")
