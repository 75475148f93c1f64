"""`appeals reconcile [--repair] [--json]` (local administration: Temporal and the
database): the read model against the workflows' state, one line per difference, and a
non-zero exit while any remains."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from commands.common import UserError, console, print_json, run, settings

if TYPE_CHECKING:
    from services.reconcile import Drift


def register(app: typer.Typer) -> None:
    @app.command()
    def reconcile(
        repair: Annotated[
            bool, typer.Option("--repair", help="re-project drifting rows from the workflows")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> int:
        """Compare every open case's and task's rows with its workflow (and find rows with
        no workflow); exit 1 when they differ. --repair writes the workflows' state over
        them and checks again."""
        from client import connect
        from db.engine import make_engine
        from services.reconcile import reconcile as find_drift

        s = settings()

        async def go() -> tuple[list[Drift], list[Drift]]:
            try:
                client = await connect(s)
            except Exception as e:  # noqa: BLE001 - one line, not a traceback
                raise UserError(f"Temporal at {s.address} is unreachable ({e})") from None
            engine = make_engine(s.db_url)
            try:
                tq = s.task_queue
                found = await find_drift(client, engine, task_queue=tq)
                left = (
                    await find_drift(client, engine, task_queue=tq, repair=True)
                    if repair and found
                    else found
                )
                return list(found), list(left)
            finally:
                engine.dispose()

        found, left = run(go())
        if as_json:
            print_json(
                {
                    "drift": [d.as_dict() for d in found],
                    "repaired": len(found) - len(left) if repair else 0,
                    "remaining": [d.as_dict() for d in left],
                }
            )
        else:
            for d in found:
                console.print(escape(d.line()), highlight=False, soft_wrap=True)
        if left:
            what = "remains after the repair" if repair else "found"
            raise UserError(f"{len(left)} difference(s) between read model and workflows {what}")
        if not as_json:
            done = f"; {len(found)} repaired" if found else ""
            console.print(f"read model matches the workflows{done}", highlight=False)
        return 0
