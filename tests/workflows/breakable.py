"""A worker whose calendar arithmetic can be broken on demand (the real activity
otherwise), for the tests and the saved histories of patches.COMPUTE_BOUNDED."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.engine import make_engine, migrate
from models.sla import ClockRequest, ClockState
from sandbox import RUNNER
from settings import Settings
from tests.conftest import Stack
from worker import WORKFLOWS, build_activities


class BreakableCalendar:
    """The real clock arithmetic, which fails (as a corrupt calendar would) while broken."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.broken = False

    @activity.defn(name="clock_op")
    def clock_op(self, req: ClockRequest) -> ClockState:
        if self.broken:
            raise RuntimeError("calendar data unreadable")
        result: ClockState = self.real(req)  # type: ignore[operator]
        return result


@contextlib.asynccontextmanager
async def breakable_stack(
    env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[tuple[Stack, BreakableCalendar]]:
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    tq = f"tq-{uuid.uuid4()}"
    real = build_activities(settings, engine)
    name = "clock_op"
    calendar = BreakableCalendar(next(a for a in real if a.__name__ == name))
    activities = [a for a in real if a.__name__ != name] + [calendar.clock_op]
    with ThreadPoolExecutor(8) as ex:
        worker = Worker(
            env.client,
            task_queue=tq,
            workflows=list(WORKFLOWS),
            workflow_runner=RUNNER,
            activities=activities,
            activity_executor=ex,
            max_concurrent_activities=8,
        )
        async with worker:
            yield Stack(env.client, settings, engine, tq, worker, env), calendar
    engine.dispose()
