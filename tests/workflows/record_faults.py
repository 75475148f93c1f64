"""The v5-faults histories (tests/workflows/histories/v5-faults-*): the branch patched
by ``compute-retry-bounded`` taken, and its fallbacks too, so the replay test proves
them:

- a drill case whose lead task is accepted; the calendar then fails: a pause is
  refused after COMPUTE_GIVE_UP (clock_failed), a 督办 keeps its rungs' hours
  (clock_failed); mended, the pause and the material go through and the case is
  handled to its close.

    .venv/bin/python -m tests.workflows.record_histories faults
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from models.case import CallbackInput, UrgeInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    ProvideInfoInput,
    RequestInfoInput,
)
from tests.conftest import Stack
from tests.workflows.breakable import breakable_stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import save
from workflows.policies import COMPUTE_GIVE_UP


async def record(base: Stack) -> None:
    assert base.env is not None
    async with breakable_stack(base.env, base.settings) as (stack, calendar):
        handle = await open_case(stack, intake(request_id="replay-faults-v5", sla_plan="drill"))
        lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
        actor = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))

        calendar.broken = True
        task = stack.client.get_workflow_handle(lead.task_id)
        pausing = await task.start_update(
            "request_info",
            RequestInfoInput(actor=actor, question="请提供工资流水"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        await stack.env.sleep(COMPUTE_GIVE_UP + timedelta(seconds=30))
        try:
            await pausing.result()
            raise SystemExit("the pause should have been refused")
        except WorkflowUpdateFailedError:
            pass
        await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请尽快"))
        await stack.env.sleep(COMPUTE_GIVE_UP + timedelta(seconds=30))
        calendar.broken = False

        await act(
            stack, lead.task_id, "request_info", RequestInfoInput(actor=actor, question="再问")
        )
        await act(
            stack, lead.task_id, "provide_info", ProvideInfoInput(actor="clerk.li", text="流水")
        )
        h = co.handlers[0]
        await act(stack, co.task_id, "accept", AcceptInput(actor=h))
        await act(
            stack,
            co.task_id,
            "complete",
            CompleteInput(actor=h, outcome="resolved", reply="已跟进"),
        )
        await opinions_in(stack, lead.task_id)
        await act(
            stack,
            lead.task_id,
            "complete",
            CompleteInput(actor=actor, outcome="resolved", reply="已支付"),
        )
        await wait_status(handle, "awaiting_callback")
        await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
        await save(stack, handle, "v5-faults")
