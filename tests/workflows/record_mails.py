"""The v6-mails histories (tests/workflows/histories/v6-mails-*), recorded after a case's
e-mails and clock operations were made cheaper in workflow tasks (issue 10):

- v6-mails: an urgent drill case. Each task's clocks start with one local attempt of
  ``clock_op`` (clock-op-local-once), its new-task mail is started by a local activity,
  not as a child (task-mail-started-locally); the lead signs for its task at once, the
  co-handler only after its sign-for clock's three rungs were mailed (started the same
  way). Each mail's NotificationWorkflow queues its outbox row locally
  (mail-queued-locally) and sends it. Both tasks are handled, the clerk calls back.
  Saved: the case, the tasks, the lead's new-task mail (-mail-new) and the co-handler's
  first rung (-mail-rung).

    .venv/bin/python -m tests.workflows.record_histories mails
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from db.tables import OutboxRow
from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput, TaskState
from tests.conftest import Stack, eventually
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import OUT, save


async def handle_case(stack: Stack, handle: Any, lead: TaskState, co: TaskState) -> None:
    h = co.handlers[0]
    await act(stack, co.task_id, "accept", AcceptInput(actor=h))
    await act(
        stack, co.task_id, "complete", CompleteInput(actor=h, outcome="resolved", reply="已跟进")
    )
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=lead.handlers[0], outcome="resolved", reply="已支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))


async def save_mail(stack: Stack, notification_id: str, name: str) -> None:
    mail = stack.client.get_workflow_handle(f"mail-{notification_id}")
    await mail.result()
    path = OUT / f"{name}.json"
    if path.exists():
        raise SystemExit(f"{path.name} exists: a saved history is never overwritten")
    path.write_text((await mail.fetch_history()).to_json())
    print("saved", path.name)


async def mails(stack: Stack) -> None:
    handle = await open_case(
        stack, intake(request_id="replay-mails-v6", sla_plan="drill", urgent=True)
    )
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
    assert stack.env is not None
    await stack.env.sleep(timedelta(minutes=4))  # the co-handler's sign-for rungs
    rung = f"{co.task_id}:sign_for:rung-1"

    async def mailed() -> bool:
        with Session(stack.engine) as session:
            row = session.get(OutboxRow, rung)
            return row is not None and row.status == "sent"

    await eventually(mailed)
    await handle_case(stack, handle, lead, co)
    await save(stack, handle, "v6-mails")
    await save_mail(stack, f"{lead.task_id}:new", "v6-mails-notification-new")
    await save_mail(stack, rung, "v6-mails-notification-escalation")


async def record(stack: Stack) -> None:
    await mails(stack)
