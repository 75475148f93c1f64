"""`appeals sla due`: deadline arithmetic on China's working-day calendar, locally."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from commands.common import UserError, print_json, settings
from sla import CalendarFileError, Period, WorkCalendar, due_at, load_overrides

app = typer.Typer(help="Deadline arithmetic on China's working-day calendar.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("due")
def sla_due(
    start: Annotated[str, typer.Option(help="ISO 8601, e.g. 2026-09-30T10:00+08:00")],
    period: Annotated[str, typer.Option(help="<N><unit>: wd, d, h, wh, m")],
    as_json: Json = False,
) -> None:
    """Print the deadline of a period started at START, as ISO 8601 with offset."""
    s = settings()
    try:
        moment = datetime.fromisoformat(start)
    except ValueError as e:
        raise UserError(f"--start {start!r} is not ISO 8601 (e.g. 2026-09-30T10:00+08:00)") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=s.tz)  # a local time means the deployment's zone
    try:
        p = Period.parse(period)
    except ValueError as e:
        raise UserError(str(e)) from e
    try:
        calendar = WorkCalendar(load_overrides(s.rules_dir / "calendar.yaml"))
    except CalendarFileError as e:
        raise UserError(f"{e}; fix it (`appeals rules check`)") from e
    due = due_at(moment, p, calendar=calendar, tz=s.tz).isoformat()
    if as_json:
        print_json({"start": moment.isoformat(), "period": str(p), "due_at": due})
    else:
        print(due)
