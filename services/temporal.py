"""Sending an Update to a case or task workflow, with Temporal's failures turned into
the services' one-line refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.errors import Conflict, NotFound, Unavailable

T = TypeVar("T")
UPDATE_TIMEOUT = timedelta(seconds=30)


def cause_message(e: BaseException) -> str:
    cause = e.__cause__ or getattr(e, "cause", None)
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return cause.message if isinstance(cause, ApplicationError) else str(e)


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
    handle = c.get_workflow_handle(workflow_id)
    try:
        result: T = await handle.execute_update(
            name, arg, id=update_id, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
        )
        return result
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
        if e.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in str(e).lower():
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
