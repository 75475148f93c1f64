"""`appeals`: every role's commands. Errors a user can cause are one line and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

from commands import cases, reads, rules, stack, tasks
from commands.common import UserError, err_console

app = typer.Typer(
    name="appeals",
    help="Grievance routing for gig workers (新就业群体诉求): open, route, handle, call back, close.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(rules.app, name="rules")
app.add_typer(reads.sla_app, name="sla")

for module in (cases, tasks, reads, stack):
    module.register(app)

def _one_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "invalid input: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the typer app and turns every expected failure into one line."""
    handlers: list[tuple[type[BaseException], Callable[[Any], str]]] = [
        (UserError, str),
        (ValidationError, _one_line),
    ]
    try:
        # Usage errors are typer's: it prints them with the usage line and exits 2.
        app(args=argv)
    except Exception as e:  # noqa: BLE001 - the last line of defence prints one line
        for kind, fmt in handlers:
            if isinstance(e, kind):
                err_console.print(f"error: {fmt(e)}", markup=False, highlight=False)
                sys.exit(1)
        err_console.print(f"error: {type(e).__name__}: {e}", markup=False, highlight=False)
        sys.exit(1)

if __name__ == "__main__":
    main()
