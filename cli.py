"""`appeals`: every role's commands. Errors a user can cause are one line and a non-zero exit."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

from commands import cases, reads, rules, stack, tasks
from commands.common import UserError

app = typer.Typer(
    name="appeals",
    help="Grievance routing for gig workers (新就业群体诉求): open, route, handle, close.",
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
    code = 0
    try:
        # Usage errors are typer's: it prints them with the usage line and exits 2.
        app(args=argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:  # noqa: BLE001 - the last line of defence prints one line
        code = 1
        for kind, fmt in handlers:
            if isinstance(e, kind):
                print(f"error: {fmt(e)}", file=sys.stderr)
                break
        else:
            print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    # The Temporal client's Rust runtime keeps threads that can abort CPython's
    # finalisation ("PyGILState_Release ... must be current", temporalio/sdk-python
    # issue 300). Every command has finished its work and cleanup here, so flush
    # and leave without interpreter teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
