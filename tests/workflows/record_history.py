"""The v6-history histories (tests/workflows/histories/v6-history-*), recorded after the
issue-10 history changes (task-tells-case-status-only, task-continues-as-new,
case-history-slim):

- v6-history: a wage-arrears case (人社 leads, 工会 co-handles). The co-handler accepts
  and completes. The lead accepts and takes notes until its run continues as new
  (task-T1 and task-T1-run2, … : a continued run replays from its carried state, its
  patches inherited without markers); on the new run a supervisor grants an extension
  and urges the case (the case signals the task's newest run), the lead takes one more
  note and returns the case to 市场监管; the case re-routes it (without the roster) to a
  new lead, which accepts and completes; the clerk calls back (an acknowledgement, not
  the case's state, answers the Update).

    .venv/bin/python -m tests.workflows.record_histories history
"""

from __future__ import annotations

from sqlmodel import Session

from db import queries
from models.case import CallbackInput, UrgeInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    ReturnInput,
)
from tests.conftest import Stack, eventually
from tests.workflows.helpers import (
    act,
    intake,
    open_case,
    opinions_in,
    runs_of,
    wait_status,
    wait_tasks,
)
from tests.workflows.record_histories import save


async def history(stack: Stack, name: str = "v6-history") -> None:
    handle = await open_case(stack, intake(request_id=f"replay-{name}"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    who = co.handlers[0]
    await act(stack, co.task_id, "accept", AcceptInput(actor=who))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor=who, outcome="resolved", reply="工会意见：支持劳动者"),
    )
    who = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
    n = 0
    while len(await runs_of(stack, lead.task_id)) < 2:
        n += 1
        await act(stack, lead.task_id, "note", NoteInput(actor=who, text=f"第{n}次跟进"))
    await act(
        stack, lead.task_id, "extend", ExtendInput(actor=who, period="2wd", reason="等待平台")
    )
    await act(stack, lead.task_id, "approve_extension", DecideExtensionInput(actor="sup.liu"))
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请本周内办结"))

    async def urged() -> bool | None:  # the task's new priority is in the read model
        with Session(stack.engine) as session:
            row = queries.get_task(session=session, task_id=lead.task_id)
        return True if row is not None and row.priority == 1 else None

    await eventually(urged)
    await act(stack, lead.task_id, "note", NoteInput(actor=who, text="平台称押金由市场监管处理"))
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
    await save(stack, handle, name)


async def record(stack: Stack) -> None:
    await history(stack)
