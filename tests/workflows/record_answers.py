"""The v8-answers histories (tests/workflows/histories/v8-answers-*), recorded after a
task's Update began to answer with its own projection, which the API writes
(patches.ANSWER_CARRIES_PROJECTION): a wage-arrears case whose lead accepts, notes and
answers, its co-handler answering too, and the case called back.

    .venv/bin/python -m tests.workflows.record_histories answers
"""

from __future__ import annotations

from models.tasks import AcceptInput, NoteInput
from tests.conftest import Stack
from tests.workflows.helpers import act, answer_and_call_back, intake, open_case, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-answers-v8"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    who, t = lead.handlers[0], lead.task_id
    await act(stack, t, "accept", AcceptInput(actor=who))
    await act(stack, t, "note", NoteInput(actor=who, text="已联系站点负责人"))
    await answer_and_call_back(
        stack, handle, [(co, "工会跟进"), (lead, "已足额支付")], accepted={lead.task_id}
    )
    await save(stack, handle, "v8-answers")
