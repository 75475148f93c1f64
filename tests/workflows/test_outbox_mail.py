"""A task's mails leave through the outbox relay (patches.MAIL_THROUGH_OUTBOX): the
new-task mail and each rung's mail reach the office once, each queued by the task's own
projection together with the timeline row that says why, and no workflow is started for
any of them (before, each had a NotificationWorkflow of its own)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from temporalio.service import RPCError

from db.tables import EventRow, OutboxRow
from models.tasks import AcceptInput
from tests.conftest import Stack, eventually
from tests.smtp import SmtpServer
from tests.workflows.helpers import act, intake, open_case, wait_tasks


async def test_a_tasks_rungs_leave_through_the_outbox_once_each(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    stack = clock_stack  # a time-skipping server of its own: it travels four minutes
    handle = await open_case(
        stack, intake(request_id="outbox-rungs", sla_plan="drill", urgent=True)
    )
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
    assert stack.env is not None
    await stack.env.sleep(timedelta(minutes=4))  # the co-handler's sign-for rungs fall due
    rungs = [f"{co.task_id}:sign_for:rung-{k}" for k in (1, 2, 3)]
    expected = [f"{lead.task_id}:new", f"{co.task_id}:new", *rungs]

    async def all_sent() -> dict[str, OutboxRow] | None:
        with Session(stack.engine) as session:
            got = {r.id: r for r in session.exec(select(OutboxRow)).all()}
        return got if all(got.get(i) and got[i].status == "sent" for i in expected) else None

    rows = await eventually(all_sent)
    assert all(rows[i].attempts == 1 for i in expected)
    # Each at the sink once, by its Message-ID.
    by_id = Counter(str(m["X-Appeals-Notification"]) for m in smtp.inbox.messages())
    assert all(by_id[i] == 1 for i in expected), by_id
    # No workflow of its own.
    for i in expected:
        with pytest.raises(RPCError, match="not found"):
            await stack.client.get_workflow_handle(f"mail-{i}").describe()
    # Each clock event's mail with its timeline row, written by the same projection:
    # read in one transaction, neither is there without the other.
    with Session(stack.engine) as session:
        said = session.exec(
            select(EventRow).where(
                EventRow.task_id == co.task_id,
                col(EventRow.action).in_(["escalated", "warning"]),
            )
        ).all()
        queued = session.exec(
            select(OutboxRow).where(
                OutboxRow.task_id == co.task_id, col(OutboxRow.clock).is_not(None)
            )
        ).all()
    said_ids = {f"{co.task_id}:{d['clock']}:{d['event']}" for d in map(data, said)}
    assert set(rungs) <= said_ids
    assert {r.id for r in queued} == said_ids


def data(e: EventRow) -> dict[str, str]:
    return dict(json.loads(e.data or "{}"))
