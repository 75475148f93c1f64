"""A mail whose local step timed out must replay: found by the fault harness
(bench/faults.py), where 143 mails of a run with a locked SQLite and a killed worker
stopped for good (TMPRL1100, "Fail workflow machine does not handle this event:
ActivityTaskScheduled") and never left.

Live, a local activity past its budget fails as ``ActivityError`` (cause
``TimeoutError``) and the workflow takes its fallback; replayed from its marker, the same
failure is the bare ``TimeoutError``, which the mail's workflow (queueing its outbox row)
and the task (starting the mail) let through, and so did something else on replay than
live. (The projector's was mended the same way: test_projection_timeout_replay.py.)

Here the worker's local steps are slower than their budget, as with a locked read
model or a busy server (the one piece faked: each sleeps past it, then does its work)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from models.notify import Notification
from sandbox import RUNNER
from tests.activities.helpers import sample
from tests.conftest import Stack
from tests.keys import sealed_converter
from worker import WORKFLOWS, build_activities
from worker import replayer as worker_replayer
from workflows.notification import NotificationWorkflow
from workflows.policies import LOCAL_ONCE

PAST_BUDGET = LOCAL_ONCE["schedule_to_close_timeout"].total_seconds() + 1


class Slow:
    """``queue_notification`` and ``start_notification``, slow in their local attempt."""

    def __init__(self, real: list[Any]) -> None:
        self.queue = next(a for a in real if name(a) == "queue_notification")
        self.start: Callable[[Notification], Awaitable[bool]] = next(
            a for a in real if name(a) == "start_notification"
        )

    @activity.defn(name="queue_notification")
    def queue_notification(self, n: Notification) -> None:
        if activity.info().is_local:
            time.sleep(PAST_BUDGET)  # a locked read model
        self.queue(n)

    @activity.defn(name="start_notification")
    async def start_notification(self, n: Notification) -> bool:
        if activity.info().is_local:
            await asyncio.sleep(PAST_BUDGET)  # a busy server
        return await self.start(n)


def name(fn: Any) -> str:
    return str(getattr(fn, "__temporal_activity_definition").name)


def timed_out(history: WorkflowHistory) -> bool:
    return any(
        e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.failure.message
        for e in history.events
    )


async def test_a_mail_whose_local_step_timed_out_replays(stack: Stack) -> None:
    """A case's mail (a callback or dispatch-review reminder) is started as a child of the
    case, as here. A task's mails no longer have workflows (patches.MAIL_THROUGH_OUTBOX);
    their local start, which timed out the same way, is in histories recorded before
    that (v6-mails-*), which test_replay.py replays."""
    real = build_activities(stack.settings, stack.engine, client=stack.client)
    slow = Slow(real)
    queue = f"tq-slow-{uuid.uuid4()}"  # served by this test's worker alone
    kept = [a for a in real if name(a) not in ("queue_notification", "start_notification")]
    n = sample("breach-2", id=f"AP-SLOW-{uuid.uuid4().hex[:6]}:callback-1")
    with ThreadPoolExecutor(8) as ex:
        async with Worker(
            stack.client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            workflow_runner=RUNNER,
            activities=[*kept, slow.queue_notification, slow.start_notification],
            activity_executor=ex,
        ):
            mail = await stack.client.start_workflow(
                NotificationWorkflow.run, n, id=f"mail-{n.id}", task_queue=queue
            )
            assert await mail.result() is not None  # sent, after the queue's attempt
            history = await mail.fetch_history()
    assert timed_out(history), "the local step did not time out: proves nothing"
    replayer = worker_replayer(sealed_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
