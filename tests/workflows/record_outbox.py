"""The v9-outbox histories (tests/workflows/histories/v9-outbox-*), recorded when a task's
e-mails moved to the outbox relay (patches.MAIL_THROUGH_OUTBOX, issue 10):

- v9-outbox: an urgent drill case. Each task's new-task mail, and the co-handler's three
  sign-for rungs, are queued by the task's own projection (its ``project`` activity
  carries them) and sent by the relay: no NotificationWorkflow, no start_notification.
  The supervisor urges the case (the 督办 signal's mail, queued by a local projection);
  the lead asks for an extension (its mail to the supervisors queued by a projection
  after the accepting Update's workflow task), which is approved;
  both tasks are handled and the clerk calls back. Saved: the case and the tasks.

    .venv/bin/python -m tests.workflows.record_histories outbox
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from db.tables import OutboxRow
from models.case import UrgeInput
from models.tasks import AcceptInput, DecideExtensionInput, ExtendInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import act, intake, open_case, wait_tasks
from tests.workflows.record_histories import save
from tests.workflows.record_mails import handle_case


async def record(stack: Stack, name: str = "v9-outbox") -> None:
    handle = await open_case(
        stack, intake(request_id=f"replay-{name}", sla_plan="drill", urgent=True)
    )
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
    assert stack.env is not None
    await stack.env.sleep(timedelta(minutes=4))  # the co-handler's sign-for rungs
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请尽快办结"))
    who = lead.handlers[0]
    await act(stack, lead.task_id, "extend", ExtendInput(actor=who, period="2m", reason="调取记录"))
    await act(stack, lead.task_id, "approve_extension", DecideExtensionInput(actor="sup.zhang"))
    sent = [f"{co.task_id}:sign_for:rung-{k}" for k in (1, 2, 3)] + [f"{lead.task_id}:new"]

    async def mailed() -> bool:
        with Session(stack.engine) as session:
            rows = [session.get(OutboxRow, i) for i in sent]
            return all(r is not None and r.status == "sent" for r in rows)

    await eventually(mailed)
    await handle_case(stack, handle, lead, co)
    await save(stack, handle, name)
