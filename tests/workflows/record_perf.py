"""The v5-perf histories (tests/workflows/histories/v5-perf-*), recorded after the
issue-10 performance changes:

- v5-perf-actions: a wage-arrears case (人社 leads, 工会 co-handles) on the code where
  calendar arithmetic, routing and projections run as local activities
  (perf-local-activities) and a task tells its case in the background
  (perf-case-told-in-background). The co-handler accepts, notes and completes; the lead
  accepts, notes and returns the case to 市场监管, which re-routes it (routing again,
  a new lead task); the new lead accepts and completes; the clerk calls back.

    .venv/bin/python -m tests.workflows.record_histories perf
"""

from __future__ import annotations

from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput, NoteInput, ReturnInput
from tests.conftest import Stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import save


async def actions(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-perf-v5"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    who = co.handlers[0]
    await act(stack, co.task_id, "accept", AcceptInput(actor=who))
    await act(stack, co.task_id, "note", NoteInput(actor=who, text="已联系平台核实"))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor=who, outcome="resolved", reply="工会意见：支持劳动者"),
    )
    who = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
    await act(stack, lead.task_id, "note", NoteInput(actor=who, text="核实用工关系"))
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor=who, reason="平台押金问题应由市场监管处理", owner="samr"),
    )
    (new_lead,) = [
        t
        for t in await wait_tasks(handle, 1)
        if t.role.value == "lead" and t.task_id != lead.task_id
    ]
    who = new_lead.handlers[0]
    await act(stack, new_lead.task_id, "accept", AcceptInput(actor=who))
    await opinions_in(stack, new_lead.task_id)
    await act(
        stack,
        new_lead.task_id,
        "complete",
        CompleteInput(actor=who, outcome="resolved", reply="已责令平台退还押金"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v5-perf-actions")


async def record(stack: Stack) -> None:
    await actions(stack)
