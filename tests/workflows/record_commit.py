"""The v7-commit histories (tests/workflows/histories/v7-commit-*), recorded after a
case's and a task's Updates began to keep their effects outside the workflow (the
projection, a mail's start) for after the workflow task that accepts them
(patches.UPDATES_AFTER_COMMIT, workflows/after_commit.py): a wage-arrears case urged
and called again; its lead accepts, notes, asks for material and an extension (mailed
to the supervisors) that is approved; both tasks answer and the case is called back.

    .venv/bin/python -m tests.workflows.record_histories commit
"""

from __future__ import annotations

from models.case import UrgeInput
from models.clusters import RepeatInput
from models.tasks import (
    AcceptInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    ProvideInfoInput,
    RequestInfoInput,
)
from tests.conftest import Stack
from tests.workflows.helpers import act, answer_and_call_back, intake, open_case, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-commit-v7"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请本周内办结"))
    await handle.execute_update(
        "repeat",
        RepeatInput(
            actor="clerk.li",
            request_id="replay-commit-v7-again",
            summary="劳动者再次来电，催问进度",
            matched_on=["phone"],
        ),
    )
    who, t = lead.handlers[0], lead.task_id
    await act(stack, t, "accept", AcceptInput(actor=who))
    await act(stack, t, "note", NoteInput(actor=who, text="已联系站点负责人"))
    await act(stack, t, "request_info", RequestInfoInput(actor=who, question="请提供工资流水"))
    await act(stack, t, "provide_info", ProvideInfoInput(actor="clerk.li", text="流水三页"))
    await act(stack, t, "extend", ExtendInput(actor=who, period="2wd", reason="需调取平台记录"))
    await act(stack, t, "approve_extension", DecideExtensionInput(actor="sup.zhang"))
    await answer_and_call_back(
        stack, handle, [(co, "工会跟进"), (lead, "已足额支付")], accepted={lead.task_id}
    )
    await save(stack, handle, "v7-commit")
