"""The notices of issue 8 on the time-skipping server, through a real SMTP server:
a new task mailed to its office (at its next opening unless urgent), an extension
request mailed to the supervisors whose region covers the task, and a late callback
(回访) written to the timeline and mailed to the head of the clerk's office.

Office hours are 09:00–12:00 and 13:30–17:30 Shanghai; 2026-12-04 is a Friday. The
scenarios are played whole weeks later (tests/scenario.py).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db import queries
from models.tasks import AcceptInput, CompleteInput, ExtendInput, ReturnInput
from tests.conftest import Stack, eventually
from tests.scenario import at, stamp
from tests.smtp import SmtpServer
from tests.workflows.helpers import (
    act,
    case_state,
    events,
    intake,
    open_case,
    opinions_in,
    wait_status,
    wait_tasks,
)

SH = ZoneInfo("Asia/Shanghai")
PERSONAL = ("王小明", "13800138001")


async def travel_to(stack: Stack, when: datetime) -> None:
    now = await stack.env.get_current_time()
    assert now < when, f"the test server is already at {now}"
    await stack.env.sleep(when - now)


def body(m: EmailMessage) -> str:
    part = m.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def mails(smtp: SmtpServer, event: str, count: int, case_id: str) -> list[EmailMessage]:
    async def check() -> list[EmailMessage] | None:
        found = [
            m
            for m in smtp.inbox.messages()
            if m["X-Appeals-Event"] == event and m["X-Appeals-Case"] == case_id
        ]
        return found if len(found) >= count else None

    return await eventually(check, timeout=30)


def to(m: EmailMessage) -> set[str]:
    return {a.addr_spec for a in m["To"].addresses}


async def test_a_new_task_is_mailed_to_its_office_with_what_to_do_and_by_when(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    # Friday 10:00: the offices are open, so the mails leave at once.
    await travel_to(clock_stack, at("2026-12-04T10:00"))
    handle = await open_case(clock_stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    got = await mails(smtp, "new-task", 2, handle.id)
    by_office = {next(iter(to(m))): m for m in got}
    assert set(by_office) == {"hrss.tianhe@appeals.example", "union.tianhe@appeals.example"}
    m = by_office["hrss.tianhe@appeals.example"]
    text = body(m)
    assert m["X-Appeals-Task"] == lead.task_id
    assert "新工单（主办）" in str(m["Subject"])
    assert f"appeals accept {lead.task_id}" in text
    # sign-for 1wd: the next working day's close (Mon 12-07); reply 5wd: Fri 12-11.
    assert f"签收：{stamp('2026-12-07 17:30')} 前（1个工作日）" in text
    assert f"答复：{stamp('2026-12-11 17:30')} 前（5个工作日）" in text
    assert "劳动保障监察" not in text or "签收后起算" in text
    co_text = body(by_office["union.tianhe@appeals.example"])
    assert "协办意见" in co_text and co.task_id in co_text
    for mail in got:
        assert not any(p in body(mail) for p in PERSONAL), "no personal data to the offices"
    assert "new-task" in {m["X-Appeals-Event"] for m in smtp.inbox.messages()}


async def test_a_task_dispatched_at_night_is_mailed_when_the_office_opens(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    # Friday 20:00: the next opening is Monday 09:00 (the weekend is off).
    await travel_to(clock_stack, at("2026-12-04T20:00"))
    handle = await open_case(clock_stack, intake())
    await wait_tasks(handle, 2)

    # A second case's lead office returns its task at night: no mail about it then.
    returned = await open_case(clock_stack, intake())
    (gone,) = [t for t in await wait_tasks(returned, 2) if t.role.value == "lead"]
    await act(
        clock_stack,
        gone.task_id,
        "return",
        ReturnInput(actor=gone.handlers[0], reason="应由市场监管处理", owner="samr"),
    )
    await travel_to(clock_stack, at("2026-12-07T08:50"))
    assert not [m for m in smtp.inbox.messages() if m["X-Appeals-Event"] == "new-task"]
    await travel_to(clock_stack, at("2026-12-07T09:10"))
    got = await mails(smtp, "new-task", 2, handle.id)
    assert len(got) == 2
    assert gone.task_id not in {m["X-Appeals-Task"] for m in smtp.inbox.messages()}
    # An urgent case is mailed at once, night or not.
    urgent = await open_case(clock_stack, intake(urgent=True))
    await travel_to(clock_stack, at("2026-12-07T21:00"))
    await wait_tasks(urgent, 2)
    got = await mails(smtp, "new-task", 2, urgent.id)
    assert all(m["Importance"] == "high" for m in got)


async def test_an_extension_request_is_mailed_to_the_supervisors_in_scope(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    await travel_to(clock_stack, at("2026-12-04T10:00"))
    handle = await open_case(clock_stack, intake())
    lead, _ = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    actor = lead.handlers[0]
    await act(clock_stack, lead.task_id, "accept", AcceptInput(actor=actor))
    await act(
        clock_stack,
        lead.task_id,
        "extend",
        ExtendInput(actor=actor, clock="reply", period="5wd", reason="需调取平台数据"),
    )
    (m,) = await mails(smtp, "extension-requested", 1, handle.id)
    # 天河 (440106) and the city's supervisors; not 番禺's.
    assert to(m) == {
        "sup.tianhe.ma@appeals.example",
        "sup.zhang@appeals.example",
        "sup.liu@appeals.example",
        "sup.zhou@appeals.example",
    }
    text = body(m)
    assert "延长5个工作日" in text and "需调取平台数据" in text
    assert f"appeals approve-extension {lead.task_id} --clock reply" in text
    assert not any(p in text for p in PERSONAL)


async def test_a_late_callback_escalates_to_the_clerks_office_head(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    await travel_to(clock_stack, at("2026-12-04T10:00"))
    handle = await open_case(clock_stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    # The time-skipping server stalls on a mail still retrying after its task ended.
    await mails(smtp, "new-task", 2, handle.id)
    for task, reply in ((co, "工会意见：支持劳动者"), (lead, "已足额支付")):
        actor = task.handlers[0]
        await act(clock_stack, task.task_id, "accept", AcceptInput(actor=actor))
        if task is lead:
            await opinions_in(clock_stack, lead.task_id)
        await act(
            clock_stack,
            task.task_id,
            "complete",
            CompleteInput(actor=actor, outcome="resolved", reply=reply),
        )
    state = await wait_status(handle, "awaiting_callback")

    async def clock_on() -> datetime | None:
        return (await case_state(handle)).callback_due

    due = await eventually(clock_on)
    # standard plan: callback 3wd after the reply on Fri 12-04 → Wed 12-09 17:30.
    assert due == at("2026-12-09T17:30")

    async def in_read_model() -> bool:
        with Session(clock_stack.engine) as s:
            row = queries.get_case(session=s, case_id=handle.id)
            return row is not None and row.callback_due == due

    await eventually(in_read_model)  # the callback queue reads this
    await travel_to(clock_stack, at("2026-12-09T17:00"))
    assert "callback_overdue" not in {e.action for e in events(clock_stack, handle.id)}
    await travel_to(clock_stack, at("2026-12-09T18:00"))
    (m,) = await mails(smtp, "callback-overdue", 1, handle.id)
    assert to(m) == {"social_work.city.head@appeals.example"}  # clerk.li's office head
    assert "回访超时" in str(m["Subject"]) and "clerk.li" in body(m)

    async def on_timeline() -> bool:
        return "callback_overdue" in {e.action for e in events(clock_stack, handle.id)}

    await eventually(on_timeline)
    assert state.status.value == "awaiting_callback"
