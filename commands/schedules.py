"""`appeals schedules list | pause | unpause | trigger`: the Temporal Schedules of the
digests (schedules.py). Local administration, like `appeals worker`: it talks to
Temporal with the deployment's settings, not to the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from temporalio.client import Client, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from commands.common import UserError, console, print_json, run, settings

app = typer.Typer(
    help="The digests' Temporal Schedules: list, pause, unpause, trigger (local administration).",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]
T = TypeVar("T")


def _with_client(act: Callable[[Client], Awaitable[T]]) -> T:
    from client import connect

    s = settings()

    async def go() -> T:
        try:
            client = await connect(s)
        except Exception as e:  # noqa: BLE001 - one line, not a traceback
            raise UserError(f"Temporal at {s.address} is unreachable ({e})") from None
        return await act(client)

    return run(go())


async def _on(client: Client, schedule_id: str) -> ScheduleHandle:
    from schedules import SCHEDULES

    if schedule_id not in SCHEDULES:
        raise UserError(f"unknown schedule {schedule_id!r}; schedules: {', '.join(SCHEDULES)}")
    handle = client.get_schedule_handle(schedule_id)
    try:
        await handle.describe()
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            raise UserError(
                f"schedule {schedule_id} does not exist yet; a worker creates it at start"
                " (appeals worker, appeals dev)"
            ) from None
        raise UserError(f"schedule {schedule_id}: {e.message}") from None
    return handle


@app.command("list")
def list_(as_json: Json = False) -> None:
    """The schedules: paused or not, next runs, recent runs, runs missed or skipped."""
    from schedules import SCHEDULES

    tz = settings().tz  # times as the deployment reads them (09:00, not 01:00 UTC)

    async def go(client: Client) -> list[dict[str, Any]]:
        out = []
        for sid in SCHEDULES:
            try:
                d = await client.get_schedule_handle(sid).describe()
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:
                    raise UserError(f"schedule {sid}: {e.message}") from None
                out.append({"id": sid, "exists": False})
                continue
            out.append(
                {
                    "id": sid,
                    "exists": True,
                    "paused": d.schedule.state.paused,
                    "note": d.schedule.state.note or "",
                    "time_zone": d.schedule.spec.time_zone_name,
                    "next": [t.astimezone(tz).isoformat() for t in d.info.next_action_times[:3]],
                    "recent": [
                        {
                            "scheduled_at": r.scheduled_at.astimezone(tz).isoformat(),
                            "started_at": r.started_at.astimezone(tz).isoformat(),
                            "workflow_id": getattr(r.action, "workflow_id", None),
                        }
                        for r in d.info.recent_actions[-5:]
                    ],
                    "runs": d.info.num_actions,
                    "missed_catchup_window": d.info.num_actions_missed_catchup_window,
                    "skipped_overlap": d.info.num_actions_skipped_overlap,
                }
            )
        return out

    rows = _with_client(go)
    if as_json:
        print_json(rows)
        return
    table = Table(title="schedules")
    for col in ("id", "state", "next run", "last run", "runs", "missed", "skipped"):
        table.add_column(col, overflow="fold")
    for r in rows:
        if not r["exists"]:
            table.add_row(r["id"], "not created (a worker creates it)", "", "", "", "", "")
            continue
        state = "paused" + (f": {r['note']}" if r["note"] else "") if r["paused"] else "active"
        last = r["recent"][-1]["scheduled_at"][:16].replace("T", " ") if r["recent"] else ""
        nxt = r["next"][0][:16].replace("T", " ") if r["next"] else ""
        table.add_row(
            r["id"],
            state,
            nxt,
            last,
            str(r["runs"]),
            str(r["missed_catchup_window"]),
            str(r["skipped_overlap"]),
        )
    console.print(table)


@app.command()
def pause(
    schedule_id: str,
    note: Annotated[str, typer.Option(help="why (shown by `schedules list`)")] = "paused",
) -> None:
    """Pause a schedule: no runs until unpaused (a restarted worker keeps it paused)."""

    async def go(client: Client) -> None:
        await (await _on(client, schedule_id)).pause(note=note)

    _with_client(go)
    console.print(f"{schedule_id} paused")


@app.command()
def unpause(schedule_id: str) -> None:
    """Resume a paused schedule from its next run (missed runs are not sent)."""

    async def go(client: Client) -> None:
        await (await _on(client, schedule_id)).unpause(note="unpaused")

    _with_client(go)
    console.print(f"{schedule_id} unpaused")


@app.command()
def trigger(schedule_id: str) -> None:
    """Run a schedule now. A digest already sent today is not sent again."""

    async def go(client: Client) -> None:
        await (await _on(client, schedule_id)).trigger()

    _with_client(go)
    console.print(f"{schedule_id} triggered")
