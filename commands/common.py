"""What every command shares: settings, connections, one-line errors, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from services.views import iso  # noqa: F401  (re-exported)
from settings import Settings

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


class UserError(Exception):
    """An error the user can fix; printed as one line, exit status 1."""

    exit_code = 1


class UsageError(UserError):
    """What the user typed cannot be used as it is (a place to choose): exit status 2."""

    exit_code = 2


def region_code(value: str | None) -> str | None:
    """A region flag must name a current division (GB/T 2260): a usage error otherwise,
    before anything is sent, with the nearest real names."""
    from routing_rules.divisions import national  # the table loads on first use

    if value is not None and value.strip() not in national():
        raise typer.BadParameter(national().unknown(value.strip(), what="region"))
    return value


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        raise UserError(
            f"bad setting APPEALS_{str(first['loc'][0]).upper()}: {first['msg']}"
        ) from e


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def local(dt: datetime | None, s: Settings) -> str:
    return "" if dt is None else dt.astimezone(s.tz).strftime("%Y-%m-%d %H:%M")


# An action's Idempotency-Key, given again (commands.api.post_action).
Key = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="the Idempotency-Key an unanswered try printed: sends that same action again",
    ),
]
