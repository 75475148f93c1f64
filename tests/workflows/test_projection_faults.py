"""A read model that refuses writes never freezes an action: the Update returns with
the workflow's new state, the projection lags (and says so), then catches up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import Session, select

from db import queries
from db.tables import ProjectionLagRow
from models.tasks import AcceptInput, NoteInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import act, events, intake, open_case, wait_tasks

REFUSE = (
    "CREATE TRIGGER refuse_tasks BEFORE UPDATE ON tasks "
    "BEGIN SELECT RAISE(ABORT, 'the read model refuses writes'); END"
)
T = TypeVar("T")
PROMPT = 15  # seconds: the bounded wait inside the Update is well under this


def sql(stack: Stack, statement: str) -> None:
    with stack.engine.begin() as conn:
        conn.execute(text(statement))


def task_status(stack: Stack, task_id: str) -> str | None:
    with Session(stack.engine) as session:
        row = queries.get_task(session=session, task_id=task_id)
        return row.status if row else None


def lag(stack: Stack) -> list[ProjectionLagRow]:
    with Session(stack.engine) as session:
        rows = list(session.exec(select(ProjectionLagRow)))
        session.expunge_all()
        return rows


def until(check: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def poll() -> T:
        return check()

    return poll


async def test_accept_returns_while_the_read_model_refuses_then_catches_up(
    clock_stack: Stack,
) -> None:
    stack = clock_stack  # a server of its own: its time is skipped
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await eventually(until(lambda: task_status(stack, lead.task_id) == "dispatched"))
    sql(stack, REFUSE)

    started = time.monotonic()
    result = await asyncio.wait_for(
        act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0])), PROMPT
    )
    assert result.status.value == "accepted"
    assert time.monotonic() - started < PROMPT
    # The workflow moved on; the read model did not, and says how far behind it is.
    assert task_status(stack, lead.task_id) == "dispatched"
    behind = await eventually(
        until(lambda: [r for r in lag(stack) if r.workflow_id == lead.task_id])
    )
    assert behind[0].attempts >= 1 and "refuses writes" in (behind[0].last_error or "")

    # A second action while it still lags is as prompt; its projection supersedes.
    await asyncio.wait_for(
        act(stack, lead.task_id, "note", NoteInput(actor=lead.handlers[0], text="约谈")), PROMPT
    )
    sql(stack, "DROP TRIGGER refuse_tasks")
    await stack.env.sleep(timedelta(minutes=3))  # the projector's backoff, skipped
    await eventually(until(lambda: task_status(stack, lead.task_id) == "accepted"))
    await eventually(until(lambda: not lag(stack)))
    actions = [e.action for e in events(stack, handle.id) if e.task_id == lead.task_id]
    assert actions == ["dispatched", "accepted", "note"]  # every event, once, in order


async def test_a_clock_firing_while_the_read_model_refuses_holds_no_action(
    clock_stack: Stack,
) -> None:
    stack = clock_stack  # a server of its own: its time is skipped
    handle = await open_case(stack, intake(sla_plan="drill", urgent=True))
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await eventually(until(lambda: task_status(stack, lead.task_id) == "dispatched"))
    sql(stack, REFUSE)
    # The sign-for clock (1 min) warns and breaches (urgent: mailed at any hour), and
    # each event's projection fails.
    await stack.env.sleep(timedelta(minutes=1, seconds=30))
    await eventually(until(lambda: any(r.workflow_id == lead.task_id for r in lag(stack))))
    result = await asyncio.wait_for(
        act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0])), PROMPT
    )
    assert result.status.value == "accepted"
    sql(stack, "DROP TRIGGER refuse_tasks")
    await stack.env.sleep(timedelta(minutes=3))
    await eventually(until(lambda: task_status(stack, lead.task_id) == "accepted"))
