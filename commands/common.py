"""What every command shares: settings, connections, one-line errors, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from client import connect
from db.engine import make_engine
from services.views import iso  # noqa: F401  (re-exported)
from settings import Settings

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")
UPDATE_TIMEOUT = timedelta(seconds=30)


class UserError(Exception):
    """An error the user can fix; printed as one line, exit status 1."""


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


async def client(s: Settings) -> Client:
    try:
        return await connect(s)
    except RuntimeError as e:
        hint = "is `appeals dev` running?" if s.embedded else "check APPEALS_TEMPORAL_ADDRESS"
        raise UserError(f"cannot reach Temporal at {s.address}: {hint}") from e


def _cause_message(e: BaseException) -> str:
    cause = e.__cause__ or getattr(e, "cause", None)
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return cause.message if isinstance(cause, ApplicationError) else str(e)


async def update(
    c: Client, workflow_id: str, kind: str, name: str, arg: BaseModel, result_type: type[T]
) -> T:
    """Run an Update and turn its failures into one line for the user."""
    handle = c.get_workflow_handle(workflow_id)
    try:
        result: T = await handle.execute_update(
            name, arg, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
        )
        return result
    except WorkflowUpdateFailedError as e:
        raise UserError(_cause_message(e)) from e
    except WorkflowUpdateRPCTimeoutOrCancelledError as e:
        raise UserError(
            f"no worker answered within {UPDATE_TIMEOUT.seconds} s: is `appeals dev` running?"
        ) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise UserError(f"unknown {kind} {workflow_id}") from e
        if e.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in str(e).lower():
            raise UserError(
                f"{kind} {workflow_id} is already finished; nothing can change it"
            ) from e
        raise UserError(f"Temporal refused the action on {workflow_id}: {e.message}") from e


@contextmanager
def db_session(s: Settings) -> Iterator[Session]:
    if s.db_url.startswith("sqlite:///") and not s.db_url.endswith(":memory:"):
        path = s.db_url.removeprefix("sqlite:///")
        from pathlib import Path

        if not Path(path).exists():
            raise UserError(f"no read model at {path}: start the stack with `appeals dev` first")
    engine = make_engine(s.db_url)
    try:
        with Session(engine) as session:
            yield session
    except (OperationalError, ProgrammingError) as e:
        raise UserError(f"the read model is not ready ({e.orig}); start `appeals dev` first") from e
    finally:
        engine.dispose()


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
