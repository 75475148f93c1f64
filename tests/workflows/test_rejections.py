"""Every action a validator must refuse: refused at once, with a clear message, and
nothing written to history or to the read model."""

from __future__ import annotations

import re
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.case import CallbackInput, DesignateInput, WithdrawInput
from models.tasks import AcceptInput, CompleteInput, ReturnInput, TransferInput
from tests.conftest import Stack
from tests.workflows.helpers import (
    accepted_updates,
    act,
    events,
    intake,
    open_case,
    projected,
    wait_tasks,
)


async def rejected(stack: Stack, workflow_id: str, name: str, arg: Any) -> str:
    """Send an update that must be rejected; return its message; check nothing was kept."""
    case_id = re.sub(r"-T\d+$", "", workflow_id)  # a case id may itself hold "-T"
    await projected(stack, case_id)
    before_history = await accepted_updates(stack, workflow_id)
    before_events = len(events(stack, case_id))
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await stack.client.get_workflow_handle(workflow_id).execute_update(name, arg)
    assert await accepted_updates(stack, workflow_id) == before_history
    assert len(events(stack, case_id)) == before_events
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_task_actions_are_refused_for_wrong_actor_state_or_input(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    tid = lead.task_id

    msg = await rejected(stack, tid, "accept", AcceptInput(actor="samr.city.jiang"))
    assert "samr.city.jiang is not a handler of" in msg
    msg = await rejected(stack, tid, "accept", AcceptInput(actor="clerk.li"))
    assert "not a handler" in msg
    msg = await rejected(
        stack,
        tid,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已解决"),
    )
    assert "it is dispatched, not accepted" in msg

    # Input that skips the client-side model (an old or hostile client): the
    # workflow's own model refuses a missing reason before any validator runs.
    with pytest.raises(WorkflowUpdateFailedError):
        await stack.client.get_workflow_handle(tid).execute_update(
            "return", {"actor": "hrss.tianhe.wang", "reason": ""}
        )
    assert await accepted_updates(stack, tid) == 0

    msg = await rejected(
        stack,
        tid,
        "transfer",
        TransferInput(actor="hrss.tianhe.wang", department="tax", reason="应由税务处理"),
    )
    assert "unknown department 'tax'" in msg
    msg = await rejected(
        stack,
        tid,
        "transfer",
        TransferInput(actor="hrss.tianhe.wang", department="hrss", reason="本办转本办"),
    )
    assert "another department or region" in msg
    msg = await rejected(
        stack,
        tid,
        "transfer",
        TransferInput(
            actor="hrss.tianhe.wang", department="samr", region="999999", reason="转到外省"
        ),
    )
    assert "unknown region '999999'" in msg

    await act(stack, tid, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    msg = await rejected(stack, tid, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    assert "it is accepted, not dispatched" in msg
    await act(
        stack,
        tid,
        "return",
        ReturnInput(actor="hrss.tianhe.wang", reason="非本单位职责", owner="samr"),
    )
    # A returned task is finished: the workflow is closed and takes no more updates.
    with pytest.raises(Exception):  # noqa: B017 - RPC error or update failure, both refuse
        await stack.client.get_workflow_handle(tid).execute_update(
            "accept", AcceptInput(actor="hrss.tianhe.wang")
        )


async def test_case_actions_are_refused_for_wrong_actor_or_state(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    await wait_tasks(handle, 2)
    msg = await rejected(
        stack, handle.id, "callback", CallbackInput(actor="clerk.li", result="satisfied")
    )
    assert "awaiting_callback" in msg
    msg = await rejected(
        stack, handle.id, "withdraw", WithdrawInput(actor="hrss.tianhe.wang", reason="撤回")
    )
    assert "hrss.tianhe.wang is not an intake clerk" in msg
    await handle.execute_update("withdraw", WithdrawInput(actor="clerk.li", reason="已和解"))
    assert (await handle.result()).status.value == "withdrawn"


async def test_designating_an_office_that_had_the_case_twice_is_refused(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor="hrss.tianhe.wang", reason="应由市场监管处理", owner="samr"),
    )
    await wait_tasks(handle, 2)  # samr leads now, union still co-handles
    again = DesignateInput(
        actor="sup.zhang", department="hrss", region="440106", reason="欠薪属人社职责"
    )
    await handle.execute_update("designate", again)  # 天河人社's second time: allowed
    msg = await rejected(stack, handle.id, "designate", again)
    assert (
        msg
        == "天河区人力资源和社会保障局 has already had this case twice; designate another office"
    )
