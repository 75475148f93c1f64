"""Sending an Update to a case or task workflow, with Temporal's failures turned into
the services' one-line refusals."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.tasks import MOVING_ON
from services.errors import Conflict, NotFound, Unavailable

T = TypeVar("T")
UPDATE_TIMEOUT = timedelta(seconds=30)
# How long an action refused because its task is moving to a new run (MOVING_ON) is
# sent again: the move takes one projection's round trip, well under a second.
MOVING_WAIT = 10.0


def application_cause(e: BaseException) -> ApplicationError | None:
    cause = e.__cause__ or getattr(e, "cause", None)
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return cause


def cause_message(e: BaseException) -> str:
    cause = application_cause(e)
    return cause.message if cause is not None else str(e)


def moving_on(e: BaseException) -> bool:
    """Whether an Update was refused only because its task is moving to a new run."""
    cause = application_cause(e)
    return cause is not None and cause.type == MOVING_ON


def closed(e: RPCError) -> bool:
    """Whether the server refused a call because the workflow's run has ended."""
    return e.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in str(e).lower()


async def running(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow's latest run is running (it may have continued as new)."""
    try:
        described = await handle.describe()
    except RPCError:
        return False
    return described.status == WorkflowExecutionStatus.RUNNING


async def execute(
    c: Client,
    workflow_id: str,
    name: str,
    arg: BaseModel,
    result_type: type[T],
    *,
    update_id: str | None = None,
    rpc_timeout: timedelta | None = None,
) -> T:
    """``execute_update``, sent again while the task refuses it for moving to a new run
    (at most MOVING_WAIT): the next run takes it. Nothing of a refused Update is applied."""
    handle = c.get_workflow_handle(workflow_id)
    give_up, pause = time.monotonic() + MOVING_WAIT, 0.02
    while True:
        try:
            result: T = await handle.execute_update(
                name, arg, id=update_id, result_type=result_type, rpc_timeout=rpc_timeout
            )
            return result
        except WorkflowUpdateFailedError as e:
            if not moving_on(e) or time.monotonic() + pause > give_up:
                raise
        except RPCError as e:
            # Sent the moment a run continued as new, the Update meets the closed run
            # ("Completed workflow"); the task itself runs on in the next one.
            if not (closed(e) and await running(handle)) or time.monotonic() + pause > give_up:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


async def update(
    c: Client,
    workflow_id: str,
    kind: str,
    name: str,
    arg: BaseModel,
    result_type: type[T],
    *,
    update_id: str | None = None,
) -> T:
    """Run an Update; a validator's refusal is a Conflict with the validator's words.
    With ``update_id`` (a caller's idempotency key), the same id sent again is answered
    by the first Update's outcome, never applied twice (Temporal dedupes Update ids)."""
    try:
        return await execute(
            c, workflow_id, name, arg, result_type, update_id=update_id, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as e:
        raise Conflict(cause_message(e)) from e
    except WorkflowUpdateRPCTimeoutOrCancelledError as e:
        raise Unavailable(
            # An Update the server accepted may still be applied after this: say so, so
            # that nobody repeats an action that did take effect.
            f"no answer within {UPDATE_TIMEOUT.seconds} s; the action may still take effect: "
            f"look at {workflow_id} before trying again"
        ) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"unknown {kind} {workflow_id}") from e
        if closed(e):
            raise Conflict(f"{kind} {workflow_id} is finished; nothing can change it") from e
        raise Unavailable(f"Temporal refused the action on {workflow_id}: {e.message}") from e


async def query(c: Client, workflow_id: str, kind: str, name: str, result_type: type[T]) -> T:
    """Run a query (it leaves nothing in the history); failures as ``update`` says them."""
    try:
        result: T = await c.get_workflow_handle(workflow_id).query(
            name, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
        )
        return result
    except WorkflowQueryFailedError as e:
        raise Unavailable(f"{kind} {workflow_id} could not be read just now: {e}") from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"unknown {kind} {workflow_id}") from e
        raise Unavailable(f"Temporal could not read {workflow_id}: {e.message}") from e
