"""A mail whose local step timed out must replay: found by the fault harness
(bench/faults.py), where 143 mails of a run with a locked SQLite and a killed worker
stopped for good (TMPRL1100, "Fail workflow machine does not handle this event:
ActivityTaskScheduled") and never left.

Live, a local activity past its budget fails as ``ActivityError`` (cause
``TimeoutError``) and the workflow takes its fallback; replayed from its marker, the same
failure is the bare ``TimeoutError``, which the mail's workflow (queueing its outbox row)
and the task (starting the mail) let through, and so did something else on replay than
live. (The projector's was mended the same way: test_projection_timeout_replay.py.)

Here the worker's two local steps are slower than their budget, as with a locked read
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
from temporalio.worker import Replayer, Worker

from models.case import CaseInput, case_id_for
from models.notify import Notification
from tests.conftest import Stack
from tests.keys import sealed_converter
from tests.workflows.helpers import intake, wait_tasks
from worker import WORKFLOWS, build_activities
from workflows.grievance import GrievanceWorkflow
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


async def test_a_mail_whose_local_steps_timed_out_replays(stack: Stack) -> None:
    real = build_activities(stack.settings, stack.engine, client=stack.client)
    slow = Slow(real)
    queue = f"tq-slow-{uuid.uuid4()}"  # served by this test's worker alone
    kept = [a for a in real if name(a) not in ("queue_notification", "start_notification")]
    with ThreadPoolExecutor(8) as ex:
        async with Worker(
            stack.client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            activities=[*kept, slow.queue_notification, slow.start_notification],
            activity_executor=ex,
        ):
            # The lead's new-task mail (urgent: sent at once).
            form = intake(urgent=True)
            handle = await stack.client.start_workflow(
                GrievanceWorkflow.run,
                CaseInput(case_id=case_id_for(form.request_id), intake=form, opened_by="clerk.li"),
                id=case_id_for(form.request_id),
                task_queue=queue,
            )
            lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
            mail = stack.client.get_workflow_handle(f"mail-{lead.task_id}:new")
            await mail.result()
            histories = [
                await mail.fetch_history(),
                await stack.client.get_workflow_handle(lead.task_id).fetch_history(),
            ]
    assert all(timed_out(h) for h in histories), "no local step timed out: proves nothing"
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=sealed_converter())
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (history.workflow_id, result.replay_failure)
