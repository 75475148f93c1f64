"""A calendar that cannot compute (patches.COMPUTE_BOUNDED): the clock operation is
retried with backoff for COMPUTE_GIVE_UP, then the action is refused with one line,
nothing changed; the clocks keep their deadlines, the timeline says what failed, and
the next action is not held up (before, the operation retried forever holding the
clocks' lock, so every action on the task hung)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from models.tasks import AcceptInput, ActionResult, RequestInfoInput
from settings import Settings
from tests.conftest import eventually
from tests.workflows.breakable import breakable_stack
from tests.workflows.helpers import act, events, intake, open_case, task_query, wait_tasks
from workflows.policies import COMPUTE_GIVE_UP

PROMPT = 30  # seconds of wall time: an answer, not a hang


async def test_a_failing_calendar_refuses_the_pause_and_holds_up_nothing(
    own_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with breakable_stack(own_env, settings) as (stack, calendar):
        handle = await open_case(stack, intake())
        lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
        actor = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))
        before = {
            c.name: (c.status, c.due_at) for c in (await task_query(stack, lead.task_id)).clocks
        }
        assert before["reply"][0].value == "running"

        calendar.broken = True
        task = stack.client.get_workflow_handle(lead.task_id)
        pausing = await task.start_update(
            "request_info",
            RequestInfoInput(actor=actor, question="请提供工资流水"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=ActionResult,
        )
        # Retries back off on the server's clock, which the test moves past the bound.
        await own_env.sleep(COMPUTE_GIVE_UP + timedelta(minutes=1))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await asyncio.wait_for(pausing.result(), PROMPT)
        message = str(refused.value.cause)
        assert "could not be computed" in message and "\n" not in message

        state = await task_query(stack, lead.task_id)
        assert state.status.value == "accepted"  # nothing changed: no pause began
        assert {c.name: (c.status, c.due_at) for c in state.clocks} == before

        async def failure_recorded() -> bool:
            return any(e.action == "clock_failed" for e in events(stack, handle.id))

        await eventually(failure_recorded)

        calendar.broken = False  # mended: the lock is free, the same action goes through
        done = await asyncio.wait_for(
            act(
                stack, lead.task_id, "request_info", RequestInfoInput(actor=actor, question="再问")
            ),
            PROMPT,
        )
        assert done.status.value == "waiting_on_worker"
