"""`appeals mail`: the e-mail outbox through the API, and `appeals mail resend ID`, a
local administration command (it needs the read model and the SMTP settings, not the
API) that sends a failed e-mail again to the recipients that do not have it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from activities.notify import NotifyActivities
from activities.outbox import ResendError
from activities.smtp import SmtpSender
from commands.api import api
from commands.common import UserError, console, print_json, run, settings
from commands.views import mail_table
from db.engine import make_engine

app = typer.Typer(
    help="The e-mail outbox: what was sent, what is retrying and why; resend failed mail.",
    invoke_without_command=True,
)
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.callback()
def outbox(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="queued, retrying, sent or failed")] = None,
    as_json: Json = False,
) -> None:
    """The e-mail outbox, newest first: what was sent, what is retrying and why."""
    if ctx.invoked_subcommand is not None:
        return
    rows: list[dict[str, Any]] = api().get("/supervision/mail", status=status)
    if as_json:
        print_json(rows)
    elif not rows:
        console.print("no e-mail" + (f" with status {status}" if status else ""))
    else:
        console.print(mail_table(rows, title=f"outbox ({len(rows)})"))


@app.command()
def resend(
    notification_id: Annotated[str, typer.Argument(help="the e-mail's id (`appeals mail`)")],
    as_json: Json = False,
) -> None:
    """Send a failed e-mail again, now, to the recipients that have not accepted it."""
    s = settings()
    if s.db_url.startswith("sqlite:///"):
        path = Path(s.db_url.removeprefix("sqlite:///"))
        if not path.exists():
            raise UserError(f"no read model at {path}: start the stack with `appeals dev` first")
    engine = make_engine(s.db_url)
    notify = NotifyActivities(engine, SmtpSender.from_settings(s), s.mail_from, s.admin_mail)
    try:
        result = run(notify.resend(notification_id))
    except ResendError as e:
        raise UserError(str(e)) from e
    except (OperationalError, ProgrammingError) as e:
        raise UserError(f"the read model is not ready ({e.orig}); run `appeals dev` first") from e
    finally:
        engine.dispose()
    if as_json:
        print_json(result)
    else:
        console.print(f"sent {result.notification_id} ({result.message_id})", highlight=False)
