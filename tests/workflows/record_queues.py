"""The v5-queues histories (tests/workflows/histories/v5-queues-*), recorded after the
issue-8 notices:

- v5-queues-callback: a wage-arrears case opened Fri 2026-12-04 20:00 (the new-task
  mails wait for Monday 09:00: new-task-mail), whose lead asks for an extension
  (extension-request-notice), is handled and replied on Monday; nobody calls the worker
  back within 3wd, so the late callback is mailed to the clerk's office head
  (callback-clock), and the clerk calls back afterwards.

    .venv/bin/python -m tests.workflows.record_histories queues          # v5-queues-callback
    .venv/bin/python -m tests.workflows.record_histories queues settle   # v5-queues-settle
"""

from __future__ import annotations

from datetime import datetime

from models.case import CallbackInput, DesignateInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ReturnInput,
)
from tests.conftest import Stack
from tests.scenario import at
from tests.workflows.helpers import (
    act,
    answer_and_call_back,
    intake,
    open_case,
    opinions_in,
    wait_status,
    wait_tasks,
)
from tests.workflows.record_histories import save


async def travel_to(stack: Stack, when: datetime) -> None:
    now = await stack.env.get_current_time()
    await stack.env.sleep(when - now)


async def callback(stack: Stack) -> None:
    await travel_to(stack, at("2026-12-04T20:00"))
    handle = await open_case(stack, intake(request_id="replay-queues-v5"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await travel_to(stack, at("2026-12-07T10:00"))
    actor = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))
    await act(
        stack,
        lead.task_id,
        "extend",
        ExtendInput(actor=actor, clock="reply", period="2wd", reason="需调取平台数据"),
    )
    await act(
        stack,
        lead.task_id,
        "approve_extension",
        DecideExtensionInput(actor="sup.zhang", clock="reply", reason="同意"),
    )
    await act(stack, co.task_id, "accept", AcceptInput(actor=co.handlers[0]))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor=co.handlers[0], outcome="resolved", reply="工会意见：支持劳动者"),
    )
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=actor, outcome="resolved", reply="已足额支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await travel_to(stack, at("2026-12-11T10:00"))  # due Thu 12-10 17:30
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v5-queues-callback")


async def settle(stack: Stack) -> None:
    """v5-queues-settle: opened Fri 2026-12-11 10:00 (the offices are open, the mails
    leave at once), the lead returns its task at once and the re-routed lead does too:
    each task waits for its new-task mail before it ends (new-task-mail-settles); a
    supervisor then designates the owner, which handles it, and the clerk calls back."""
    await travel_to(stack, at("2026-12-11T10:00"))
    handle = await open_case(stack, intake(request_id="replay-queues-settle-v5"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor=lead.handlers[0], reason="应由市场监管处理", owner="samr"),
    )
    (second,) = [t for t in await wait_tasks(handle, 2) if t.role.value == "lead" and t is not lead]
    await act(
        stack,
        second.task_id,
        "return",
        ReturnInput(actor=second.handlers[0], reason="欠薪应由人社处理", owner="hrss"),
    )
    await wait_status(handle, "in_review")
    await handle.execute_update(
        "designate",
        DesignateInput(actor="sup.zhang", department="hrss", region="440106", reason="欠薪属人社"),
    )
    designated = next(
        t for t in await wait_tasks(handle, 2) if t.role.value == "lead" and t.designated
    )
    await answer_and_call_back(
        stack, handle, [(co, "工会意见：支持劳动者"), (designated, "已足额支付")]
    )
    await save(stack, handle, "v5-queues-settle")


async def record(stack: Stack) -> None:
    import sys

    if "settle" in sys.argv:
        await settle(stack)
    else:
        await callback(stack)
