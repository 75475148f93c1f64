"""An action's answer carries its projection, and the API writes it: the person reads
their own action at once even while the worker's write of it waits, and the worker's
write, when it comes, changes nothing (patches.ANSWER_CARRIES_PROJECTION)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from db.tables import DeadlineRow, EventRow, ProjectionLagRow, TaskRow
from models.events import ProjectionBatch
from settings import Settings
from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor, front_door

HANDLER = "hrss.tianhe.wang"


class HeldProjections(Interceptor):
    """Holds the worker's ``project`` activities (queued or local) while ``holding``: the
    read model then gets nothing from the worker until ``release``."""

    def __init__(self) -> None:
        self.holding = False
        self.held = 0
        self.done = 0  # held ones that went on to write
        self.released = asyncio.Event()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Hold(next, self)


class _Hold(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, hold: HeldProjections) -> None:
        super().__init__(next)
        self.hold = hold

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if self.hold.holding and activity.info().activity_type == "project":
            self.hold.held += 1
            await self.hold.released.wait()
            result = await super().execute_activity(input)
            self.hold.done += 1
            return result
        return await super().execute_activity(input)


@pytest_asyncio.fixture
async def held(
    dev_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[tuple[FrontDoor, HeldProjections]]:
    hold = HeldProjections()
    async with front_door(dev_env, settings, interceptors=[hold]) as fd:
        try:
            yield fd, hold
        finally:
            hold.released.set()


def _utc(at: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC; the workflow's times are aware."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


Clocks = dict[str, tuple[str, datetime | None, datetime | None, bool]]


async def _truth(door: FrontDoor, task_id: str) -> Clocks:
    """The task's clocks as its workflow holds them (its ``projection`` query)."""
    workflow = door.stack.client.get_workflow_handle(task_id)
    truth = await workflow.query("projection", result_type=ProjectionBatch)
    assert truth.task is not None
    open_task = truth.task.status in ("dispatched", "accepted", "waiting_on_worker")
    return {
        d.clock: (
            d.status,
            _utc(d.due_at),
            _utc(d.due_at) if open_task and d.status == "running" else None,
            d.breached,
        )
        for d in truth.task.deadlines
    }


async def _clocks(door: FrontDoor, task_id: str) -> Clocks:
    """The task's clocks as the read model holds them."""
    with Session(door.stack.engine) as session:
        rows = session.exec(select(DeadlineRow).where(DeadlineRow.task_id == task_id))
        return {
            d.clock: (d.status, _utc(d.due_at), _utc(d.running_due_at), d.breached) for d in rows
        }


def _row(door: FrontDoor, task_id: str) -> tuple[TaskRow | None, list[EventRow], bool]:
    with Session(door.stack.engine) as session:
        task = session.get(TaskRow, task_id)
        events = list(
            session.exec(
                select(EventRow).where(col(EventRow.task_id) == task_id, EventRow.action == "note")
            )
        )
        lag = session.get(ProjectionLagRow, task_id) is not None
        session.expunge_all()
        return task, events, lag


async def test_the_answer_writes_the_action_while_the_workers_write_waits(
    held: tuple[FrontDoor, HeldProjections],
) -> None:
    door, hold = held
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("answer-1")})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        async def lead() -> str | None:
            tasks = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["tasks"]
            return next((t["id"] for t in tasks if t["role"] == "lead"), None)

        task_id = await eventually(lead)
    async with await door.as_user(HANDLER) as handler:
        # Signing for it changes its clocks (sign-for stops, reply starts): the answer
        # carries those, and the next read shows the clocks as the workflow holds them.
        hold.holding = True
        r = await handler.post(f"/api/v1/tasks/{task_id}/accept", json={})
        assert r.status_code == 200, r.text
        seen = (await handler.get(f"/api/v1/tasks/{task_id}")).json()
        assert seen["status"] == "accepted"
        assert await _clocks(door, task_id) == await _truth(door, task_id)

        r = await handler.post(f"/api/v1/tasks/{task_id}/note", json={"text": "已电话联系当事人"})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer) == {"task_id", "status", "version"}  # the projection stays inside

        async def notes() -> list[tuple[str, str]]:
            seen = (await handler.get(f"/api/v1/tasks/{task_id}")).json()
            timeline = seen["timeline"]
            return [(e["actor"], e["detail"]) for e in timeline if e["action"] == "note"]

        # The next read shows the note (whose answer holds no clock: none changed), and
        # still does once the worker is known to be trying to write: the worker has
        # written nothing since the hold began, so what the person reads came from the
        # answers.
        assert await notes() == [(HANDLER, "已电话联系当事人")]

        async def waiting() -> bool:
            return hold.held >= 1

        await eventually(waiting)
        assert hold.done == 0
        assert await notes() == [(HANDLER, "已电话联系当事人")]
        row, _, _ = _row(door, task_id)
        assert row is not None and row.version == answer["version"]

        # The worker's own write lands after, and neither doubles the note nor moves the
        # row back, and leaves no lag behind.
        hold.holding = False
        hold.released.set()

        async def caught_up() -> bool:
            row, events, lag = _row(door, task_id)
            return hold.done >= hold.held and bool(row and events) and not lag

        await eventually(caught_up)
        row, events, _ = _row(door, task_id)
        assert [e.detail for e in events] == ["已电话联系当事人"]
        assert row is not None and (row.status, row.version) == ("accepted", answer["version"])
        assert await _clocks(door, task_id) == await _truth(door, task_id)
        with Session(door.stack.engine) as session:
            accepted = session.exec(
                select(EventRow).where(EventRow.task_id == task_id, EventRow.action == "accepted")
            ).all()
        assert len(accepted) == 1
