"""`appeals`: every role's commands. Errors a user can cause are one line and a non-zero exit."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

# typer vendors click (typer._click); its usage errors are only reachable from there.
from typer._click import exceptions as click_errors

from codec import CodecKeyError
from commands import (
    cases,
    clusters,
    health,
    identity,
    mail,
    purge,
    queues,
    reads,
    reconcile,
    report,
    rules,
    schedules,
    sla,
    stack,
    tasks,
    users,
)
from commands.common import UserError
from settings import Settings

app = typer.Typer(
    name="appeals",
    help="Grievance routing for gig workers (新就业群体诉求): open, route, handle, close.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(rules.app, name="rules")
app.add_typer(sla.app, name="sla")
app.add_typer(mail.app, name="mail")
app.add_typer(users.app, name="users")
app.add_typer(queues.app, name="queue")
app.add_typer(schedules.app, name="schedules")
app.add_typer(clusters.app, name="clusters")

for module in (identity, cases, tasks, reads, report, stack, health, reconcile, purge):
    module.register(app)


def _one_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "invalid input: " + "; ".join(parts)


def _log_to_file() -> None:
    """Warnings from the libraries a command uses (e.g. the calendar's "2027 has no
    official holiday schedule") go to the data directory's appeals.log, said once there
    and by `appeals health`, not into the middle of the command's output. `serve` and
    `worker` replace this with their own log on stderr."""
    import logging

    try:
        path = Settings().data_dir / "appeals.log"
        path.parent.mkdir(parents=True, exist_ok=True)
    except (ValidationError, OSError):
        return  # the command itself will say what is wrong with the settings
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the typer app and turns every expected failure into one line."""
    _log_to_file()
    handlers: list[tuple[type[BaseException], Callable[[Any], str]]] = [
        (UserError, str),
        (ValidationError, _one_line),
        (CodecKeyError, str),
    ]
    code = 0
    try:
        # Not standalone: click's usage errors come back to us and become one line.
        result = app(args=argv, prog_name="appeals", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click_errors.NoArgsIsHelpError as e:
        print(e.format_message())  # `appeals` or `appeals users` alone: the help
        code = 0
    except click_errors.UsageError as e:
        where = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
        print(f"error: {' '.join(e.format_message().split())}{where}", file=sys.stderr)
        code = 2
    except click_errors.ClickException as e:
        print(f"error: {' '.join(e.format_message().split())}", file=sys.stderr)
        code = e.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        code = 1
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:  # noqa: BLE001 - the last line of defence prints one line
        code = e.exit_code if isinstance(e, UserError) else 1
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
