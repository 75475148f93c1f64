"""The v5-seal histories (tests/workflows/histories/v5-seal-*): a case recorded with
the encrypting payload codec (codec.py) under the fixed TEST key of tests/keys.py, so
the replay test proves sealed histories replay with the codec (and the v1-v4 ones,
recorded in plain JSON, prove the codec still reads histories from before it).

    .venv/bin/python -m tests.workflows.record_histories seal
"""

from __future__ import annotations

from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput
from tests.conftest import Stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    form = intake(request_id="replay-seal-v5", id_number="440106199003071231")
    handle = await open_case(stack, form)
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    for task, reply in ((co, "工会跟进"), (lead, "已足额支付")):
        actor = task.handlers[0]
        await act(stack, task.task_id, "accept", AcceptInput(actor=actor))
        if task is lead:
            await opinions_in(stack, lead.task_id)
        await act(
            stack,
            task.task_id,
            "complete",
            CompleteInput(actor=actor, outcome="resolved", reply=reply),
        )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v5-seal")
