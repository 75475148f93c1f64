"""`appeals users …`: account administration. Local: it works on the database
(APPEALS_DATABASE_URL, or the SQLite file under the data directory), not through the
API, so an administrator can set up the first accounts before any server runs.

Passwords are read without echo (or from stdin) and are never printed or logged; a
personal token is printed once, when it is made, and only its hash is kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from auth import accounts
from commands.cases import load_rules
from commands.common import UserError, console, err_console, print_json, settings
from commands.identity import read_password
from db.engine import make_engine, migrate
from routing_rules import RuleSet
from settings import Settings

app = typer.Typer(
    help="Accounts and personal tokens (local: works on the database).", no_args_is_help=True
)
token_app = typer.Typer(help="Personal tokens for scripts (1–366 days).", no_args_is_help=True)
app.add_typer(token_app, name="token")

StaffId = Annotated[str, typer.Argument(help="the staff id in the directory, e.g. clerk.li")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@contextmanager
def _database() -> Iterator[tuple[Session, RuleSet, Settings]]:
    """A session on the migrated read model, with the directory; one-line errors."""
    s = settings()
    rules = load_rules(s)
    engine = make_engine(s.db_url)  # (creates the SQLite file's directory)
    try:
        migrate(s.db_url)  # idempotent: the first `users add` may precede any server
    except SQLAlchemyError as e:
        engine.dispose()
        raise UserError(
            f"cannot open the database ({type(e).__name__}: {getattr(e, 'orig', e)}); "
            "check APPEALS_DATABASE_URL"
        ) from e
    try:
        with Session(engine) as session:
            yield session, rules, s
    except accounts.AccountError as e:
        raise UserError(str(e)) from e
    except SQLAlchemyError as e:
        raise UserError(f"the database refused: {type(e).__name__}") from e
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def _when(dt: datetime | None, s: Settings) -> str:
    if dt is None:
        return ""
    if dt.tzinfo is None:  # SQLite hands naive datetimes back; they were stored in UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(s.tz).strftime("%Y-%m-%d %H:%M")


@app.command()
def add(staff_id: StaffId, password_stdin: PasswordStdin = False) -> None:
    """Give a person in the staff directory an account with a password."""
    password = read_password(password_stdin, prompt="New password", confirm=True)
    with _database() as (session, rules, _):
        accounts.add(session, rules, staff_id, password, now=_now())
        member = rules.staff_member(staff_id)
    name = f" ({member.name}, {member.role.value})" if member else ""
    console.print(f"account {staff_id}{name} added", markup=False)


@app.command()
def passwd(staff_id: StaffId, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (also clears a lockout); existing tokens stay valid."""
    password = read_password(password_stdin, prompt="New password", confirm=True)
    with _database() as (session, _, _s):
        accounts.set_password(session, staff_id, password, now=_now())
    console.print(f"password of {staff_id} changed")


@app.command()
def disable(staff_id: StaffId) -> None:
    """Disable an account: every token is revoked and every right ends at once."""
    with _database() as (session, _, _s):
        accounts.set_disabled(session, staff_id, True, now=_now())
    console.print(f"{staff_id} disabled; every token of it is revoked")


@app.command()
def enable(staff_id: StaffId) -> None:
    """Enable a disabled account again (its old tokens stay revoked)."""
    with _database() as (session, _, _s):
        accounts.set_disabled(session, staff_id, False, now=_now())
    console.print(f"{staff_id} enabled")


@app.command("list")
def list_(as_json: Json = False) -> None:
    """Every account with its role and state (never a password or token)."""
    with _database() as (session, rules, s):
        views = accounts.list_accounts(session, rules)
    data: list[dict[str, Any]] = [
        {
            "staff_id": v.staff_id,
            "name": v.name,
            "role": v.role,
            "office": v.office,
            "disabled": v.disabled,
            "locked_until": _when(v.locked_until, s) or None,
            "has_password": v.has_password,
            "dev_seeded": v.dev_seeded,
            "last_login_at": _when(v.last_login_at, s) or None,
        }
        for v in views
    ]
    if as_json:
        print_json(data)
        return
    table = Table(title=f"accounts ({len(data)})")
    for col in ("staff id", "name", "role", "office", "state", "last login"):
        table.add_column(col)
    for a in data:
        state = "[red]disabled[/]" if a["disabled"] else "active"
        if a["locked_until"]:
            state += f", locked until {a['locked_until']}"
        if a["dev_seeded"]:
            state += ", dev password"
        table.add_row(
            a["staff_id"], a["name"], a["role"], a["office"] or "", state, a["last_login_at"] or ""
        )
    console.print(table)


@token_app.command("create")
def token_create(
    staff_id: StaffId,
    name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. nightly-report")],
    days: Annotated[int, typer.Option("--days", help="lifetime in days (1–366)")] = 90,
) -> None:
    """Make a personal token and print it once; only its hash is kept."""
    with _database() as (session, _, s):
        token, row = accounts.create_personal_token(
            session, staff_id, name=name, days=days, now=_now()
        )
        expires = _when(row.expires_at, s)
    err_console.print(
        f"personal token {row.id} for {staff_id} ({name}), valid until {expires}; "
        "it is shown only this once:",
        markup=False,
        highlight=False,
    )
    print(token)


@token_app.command("list")
def token_list(
    staff_id: Annotated[str | None, typer.Argument(help="only this person's tokens")] = None,
    as_json: Json = False,
) -> None:
    """Personal tokens: id, owner, name, dates (never the secret)."""
    with _database() as (session, _, s):
        rows = accounts.list_tokens(session, staff_id)
        now = _now()
        data: list[dict[str, Any]] = []
        for r in rows:
            expires = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=UTC)
            data.append(
                {
                    "id": r.id,
                    "staff_id": r.staff_id,
                    "name": r.name,
                    "created_at": _when(r.created_at, s),
                    "expires_at": _when(r.expires_at, s),
                    "last_used_at": _when(r.last_used_at, s) or None,
                    "revoked_at": _when(r.revoked_at, s) or None,
                    "state": "revoked"
                    if r.revoked_at is not None
                    else "expired"
                    if expires <= now
                    else "active",
                }
            )
    if as_json:
        print_json(data)
        return
    if not data:
        console.print("no personal tokens")
        return
    table = Table(title=f"personal tokens ({len(data)})")
    for col in ("id", "staff id", "name", "state", "created", "expires", "last used"):
        table.add_column(col)
    for t in data:
        table.add_row(
            t["id"],
            t["staff_id"],
            t["name"] or "",
            t["state"],
            t["created_at"],
            t["expires_at"],
            t["last_used_at"] or "",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id (from `users token list`)")],
) -> None:
    """Revoke a token at once."""
    with _database() as (session, _, _s):
        accounts.revoke_token(session, token_id, now=_now())
    console.print(f"token {token_id} revoked")
