"""What the case's timeline says, on the time-skipping server: one 督办 is one row, and
a breach at night is recorded when it happens, though mailed in the morning."""

from __future__ import annotations

from sqlmodel import Session

from db.tables import EventRow, TaskRow
from models.case import UrgeInput
from tests.conftest import Stack, eventually
from tests.scenario import at
from tests.smtp import SmtpServer
from tests.workflows.helpers import events
from tests.workflows.test_clocks import mails, open_lead, travel_to, wait_mails


async def test_one_urge_is_one_timeline_row_and_mails_every_open_task(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    case_id, lead, co = await open_lead(clock_stack)
    handle = clock_stack.client.get_workflow_handle(case_id)
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请本周内办结"))
    for task in (lead, co):
        [(_, event, _, _)] = await wait_mails(smtp, task, 1)
        assert event == "urge"

    async def priorities() -> bool:
        with Session(clock_stack.engine) as session:
            rows = [session.get(TaskRow, t) for t in (lead, co)]
            return all(r is not None and r.priority == 1 for r in rows)

    await eventually(priorities)  # the tasks still project their new priority
    urged = [e for e in events(clock_stack, case_id) if e.action == "urged"]
    assert [(e.task_id, e.actor, e.detail) for e in urged] == [(None, "sup.zhang", "请本周内办结")]


async def test_a_breach_at_night_is_in_the_timeline_at_once_and_mailed_in_the_morning(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    case_id, lead, _ = await open_lead(clock_stack)
    # sign-for is due Mon 2027-01-04 17:30 (see test_clocks); rung 1 is mailed 01-05 09:00.
    await travel_to(clock_stack, at("2027-01-04T20:00"))

    async def noted() -> list[EventRow] | None:
        rows = [
            e for e in events(clock_stack, case_id) if e.action == "breached" and e.task_id == lead
        ]
        return list(rows) or None

    [row] = await eventually(noted)
    assert row.task_id == lead and row.data is not None and '"rung-1"' in row.data
    assert at("2027-01-04T17:30") <= row.at < at("2027-01-04T17:35")
    assert "sign_for" in row.data and "mail_at" in row.data
    assert not [m for m in mails(smtp, lead) if m[1] == "rung-1"]
    assert not [e for e in events(clock_stack, case_id) if e.action == "escalated"]

    await travel_to(clock_stack, at("2027-01-05T09:30"))
    got = await wait_mails(smtp, lead, 3)  # warning-50, warning-75, rung-1
    assert ("sign_for", "rung-1", at("2027-01-05T09:00")) in [m[:3] for m in got]

    async def escalated() -> list[EventRow] | None:
        rows = [
            e for e in events(clock_stack, case_id) if e.action == "escalated" and e.task_id == lead
        ]
        return list(rows) or None

    await eventually(escalated)
    # Noted once, not again when mailed.
    noted_rows = [e for e in events(clock_stack, case_id) if e.action == "breached"]
    assert len([e for e in noted_rows if e.task_id == lead]) == 1
