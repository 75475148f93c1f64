"""Dispatch review (派单异议审核) that nobody settles in time: 社会工作部 hears of each
review, even when a case comes back to review without another return."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.case import DesignateInput
from models.tasks import ReturnInput, TransferInput
from tests.conftest import Stack, eventually
from tests.smtp import SmtpServer
from tests.workflows.helpers import act, events, intake, open_case, wait_status
from tests.workflows.test_dispatch import by_role, open_tasks


async def overdue_notices(smtp: SmtpServer, case_id: str, count: int) -> list[str]:
    """The recipients of the case's review-overdue mails, once there are ``count``."""

    async def check() -> list[str] | None:
        found = [
            ",".join(a.addr_spec for a in m["To"].addresses)
            for m in smtp.inbox.messages()
            if m["X-Appeals-Case"] == case_id and m["X-Appeals-Event"] == "review-overdue"
        ]
        return found if len(found) >= count else None

    return await eventually(check, timeout=30)


async def let_review_lapse(stack: Stack, handle: Any) -> None:
    state = await wait_status(handle, "in_review")
    assert state.review_due is not None
    now = await stack.env.get_current_time()
    await stack.env.sleep(state.review_due - now + timedelta(hours=1))


async def lead_of(stack: Stack, handle: Any) -> Any:
    (lead,) = by_role(await open_tasks(stack, handle, 2), "lead")
    return lead


async def test_each_review_left_overdue_is_reported(clock_stack: Stack, smtp: SmtpServer) -> None:
    stack = clock_stack
    handle = await open_case(stack, intake())
    first = await lead_of(stack, handle)
    await act(
        stack,
        first.task_id,
        "return",
        ReturnInput(actor=first.handlers[0], reason="应由市场监管处理", owner="samr"),
    )
    second = await lead_of(stack, handle)
    await act(
        stack,
        second.task_id,
        "return",
        ReturnInput(actor=second.handlers[0], reason="欠薪应由人社处理", owner="hrss"),
    )
    await let_review_lapse(stack, handle)
    assert await overdue_notices(smtp, handle.id, 1) == ["social_work.city@appeals.example"]

    # Designated to 天河人社 (its second time); it transfers to 天河市场监管 (also its
    # second), which transfers it back: nobody may have it a third time, so the case
    # is in review again — with no new return.
    await handle.execute_update(
        "designate",
        DesignateInput(actor="sup.liu", department="hrss", region="440106", reason="欠薪属人社"),
    )
    designated = await lead_of(stack, handle)
    assert designated.designated
    await act(
        stack,
        designated.task_id,
        "transfer",
        TransferInput(actor=designated.handlers[0], department="samr", reason="涉平台规则"),
    )
    samr = await lead_of(stack, handle)
    assert (samr.department, samr.region) == ("samr", "440106")
    await act(
        stack,
        samr.task_id,
        "transfer",
        TransferInput(actor=samr.handlers[0], department="hrss", reason="仍属劳动报酬"),
    )
    await let_review_lapse(stack, handle)
    assert await overdue_notices(smtp, handle.id, 2) == ["social_work.city@appeals.example"] * 2
    actions = [e.action for e in events(stack, handle.id)]
    assert (actions.count("returned"), actions.count("review_overdue")) == (2, 2)
