"""`appeals health` (local administration): one line per part of the system, and a
non-zero exit when any part is down."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.markup import escape

from commands.common import UserError, console, print_json, run, settings

MARK = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "down": "[red]down[/red]"}
log = logging.getLogger("appeals.health")


def register(app: typer.Typer) -> None:
    @app.command()
    def health(
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> int:
        """Check Temporal, the worker, the database, SMTP, projection lag, the outbox and
        the calendar; exit 1 when something is down."""
        from services.health import check_all

        checks = run(check_all(settings()))
        for c in checks:
            if c.status != "ok":
                log.warning("health: %s %s: %s", c.name, c.status, c.detail)
        if as_json:
            ok = not any(c.down for c in checks)
            print_json({"ok": ok, "checks": [c.as_dict() for c in checks]})
        else:
            width = max(len(c.name) for c in checks)
            for c in checks:
                line = f"{MARK[c.status]} {c.name.ljust(width)}  {escape(c.detail)}"
                console.print(line, highlight=False, soft_wrap=True)
        down = [c.name for c in checks if c.down]
        if down:
            raise UserError(f"{len(down)} check(s) down: {', '.join(down)}")
        return 0
