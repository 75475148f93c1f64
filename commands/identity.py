"""`appeals login | logout | whoami`: who the CLI acts as. The token from a login is
kept in the user's config directory with mode 0600; APPEALS_TOKEN overrides it."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from commands.api import Api, delete_token, save_token, stored_token, token_path
from commands.common import UserError, console, print_json, settings


def read_password(from_stdin: bool, *, prompt: str = "Password", confirm: bool = False) -> str:
    """A password from the first line of stdin, or typed without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UserError("no password on stdin (--password-stdin reads its first line)")
        return password
    if not sys.stdin.isatty():
        raise UserError("no terminal to type the password on: pass it with --password-stdin")
    typed: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return typed


def register(app: typer.Typer) -> None:
    @app.command()
    def login(
        username: Annotated[
            str | None, typer.Option("--username", "-u", help="your staff id, e.g. clerk.li")
        ] = None,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from stdin")
        ] = False,
    ) -> None:
        """Log in to the API; the token is kept for the commands that follow (8 hours)."""
        s = settings()
        if username is None:
            if password_stdin or not sys.stdin.isatty():
                raise UserError("--username is required with --password-stdin")
            username = str(typer.prompt("Staff id"))
        password = read_password(password_stdin)
        data = Api(s, anonymous=True).request(
            "POST", "/token", data={"username": username, "password": password}
        )
        token = str(data["access_token"])
        me = Api(s, token=token).get("/me")
        path = save_token(token)
        console.print(
            f"logged in to {s.api_base} as {me['staff_id']} ({me['name']}, {me['role']}); "
            f"valid until {str(data.get('expires_at', ''))[:16].replace('T', ' ')} UTC; "
            f"token in {path}",
            markup=False,
        )
        if s.token is not None:
            console.print("note: APPEALS_TOKEN is set and takes precedence over this login")

    @app.command()
    def logout() -> None:
        """Revoke the token `appeals login` stored at the API (if it answers) and forget it.
        APPEALS_TOKEN is left alone: it is a script's, not this login's."""
        s = settings()
        try:
            saved = token_path().read_text(encoding="utf-8").strip()
        except OSError:
            saved = ""
        if saved:
            own = s.model_copy(update={"token": SecretStr(saved)})
            with contextlib.suppress(UserError):  # expired or unreachable: forget it anyway
                Api(own).request("DELETE", "/token")
        if delete_token():
            console.print(f"logged out (removed {token_path()})", markup=False)
        else:
            console.print("not logged in")

    @app.command()
    def whoami(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Who the API takes you for, as the staff directory describes you now."""
        s = settings()
        if stored_token(s) is None:
            raise UserError("not logged in: run `appeals login` (or set APPEALS_TOKEN)")
        me: dict[str, Any] = Api(s).get("/me")
        if as_json:
            print_json(me)
            return
        where = " · ".join(
            str(x) for x in (me["department"], me["region"], me["office"], me["platform"]) if x
        )
        console.print(f"{me['staff_id']}  {me['name']}  {me['role']}  {where}", markup=False)
