"""The scheduled digests' workflows on the time-skipping server, through a real SMTP
server. The test server has no Schedules (temporalio/sdk-java#1954: it skips time for
the whole server, and Schedules are left to a real server), so each run is started the
way its Schedule starts it, with the time it stands for as input; the Schedules
themselves are tested on the dev server (tests/e2e/test_schedules.py).

A wage-arrears case opened Fri 2026-12-04 10:00 gives 天河区人社局 (lead) and 天河区总工会
(co) a task each; sign-for (1wd) is due Mon 12-07 17:30, reply (5wd) Fri 12-11 17:30.
The case's scenario is played whole weeks later (tests/scenario.py). The days-off
test also asks about days already past, on the real calendar: 2026's 国庆 holiday is
10-01..10-07 with a make-up working Saturday on 10-10 (调休).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db import queries
from models.digest import DigestInput, DigestResult, WeeklyResult
from tests.conftest import Stack, eventually
from tests.scenario import at, day, stamp
from tests.smtp import SmtpServer
from tests.workflows.helpers import intake, open_case, wait_tasks
from tests.workflows.test_queue_notices import body, mails, travel_to
from workflows.digest import DigestWorkflow, WeeklyReportWorkflow

SH = ZoneInfo("Asia/Shanghai")
OFFICES = {"hrss.tianhe@appeals.example", "union.tianhe@appeals.example"}


async def one_case(stack: Stack, smtp: SmtpServer) -> tuple[str, str, str]:
    await travel_to(stack, at("2026-12-04T10:00"))
    handle = await open_case(stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    # The time-skipping server stalls on a mail still retrying after its task ended.
    await mails(smtp, "new-task", 2, handle.id)
    return handle.id, lead.task_id, co.task_id


async def digest(stack: Stack, when: datetime, run: str) -> DigestResult:
    """Start a digest as its Schedule would (own workflow id, the nominal time)."""
    return await stack.client.execute_workflow(
        DigestWorkflow.run,
        DigestInput(scheduled_for=when),
        id=f"appeals-digest-{run}",
        task_queue=stack.task_queue,
    )


def digests(smtp: SmtpServer, day: str) -> list[EmailMessage]:
    return [
        m
        for m in smtp.inbox.messages()
        if m["X-Appeals-Event"] == "digest" and m["X-Appeals-Case"] == f"DIGEST-{day}"
    ]


async def delivered(smtp: SmtpServer, day: str, count: int) -> list[EmailMessage]:
    async def check() -> list[EmailMessage] | None:
        found = digests(smtp, day)
        return found if len(found) >= count else None

    return await eventually(check)


def addressee(m: EmailMessage) -> str:
    (a,) = m["To"].addresses
    return str(a.addr_spec)


async def test_each_office_gets_its_overdue_and_due_today_list_once_a_day(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    _, lead, co = await one_case(clock_stack, smtp)
    await travel_to(clock_stack, at("2026-12-07T09:00"))
    monday = await digest(clock_stack, at("2026-12-07T09:00"), "mon")
    assert monday.working_day and sorted(monday.mailed) == ["hrss.tianhe", "union.tianhe"]
    got = {addressee(m): m for m in await delivered(smtp, day("2026-12-07"), 2)}
    assert set(got) == OFFICES
    hrss = got["hrss.tianhe@appeals.example"]
    text = body(hrss)
    assert str(hrss["Subject"]).endswith("超期 0 件，今日到期 1 件")
    assert "在办工单 1 件" in text
    assert f"{lead} 拖欠劳动报酬 签收 截止 {stamp('2026-12-07 17:30')}" in text
    assert "答复" not in text.split("今日到期")[1]  # reply is due Friday, not today
    assert co in body(got["union.tianhe@appeals.example"])
    assert not any(p in text for p in ("王小明", "13800138001"))

    # The same day again (a catch-up after a manual trigger, say): nobody is mailed.
    again = await digest(clock_stack, at("2026-12-07T09:00"), "mon-again")
    assert again.mailed == [] and sorted(again.already) == ["hrss.tianhe", "union.tianhe"]
    with Session(clock_stack.engine) as s:
        rows = [r for r in queries.outbox(session=s) if r.case_id == f"DIGEST-{day('2026-12-07')}"]
    assert len(rows) == 2 and {r.status for r in rows} == {"sent"}
    assert len(digests(smtp, day("2026-12-07"))) == 2

    # Tuesday: sign-for ran out on Monday 17:30, so it is overdue now.
    await travel_to(clock_stack, at("2026-12-08T09:00"))
    await digest(clock_stack, at("2026-12-08T09:00"), "tue")
    got = {addressee(m): m for m in await delivered(smtp, day("2026-12-08"), 2)}
    text = body(got["hrss.tianhe@appeals.example"])
    overdue_part, today_part = text.split("今日到期")
    assert f"{lead} 拖欠劳动报酬 签收 截止 {stamp('2026-12-07 17:30')}" in overdue_part
    assert "无" in today_part


async def test_no_digest_on_a_day_off_one_on_a_make_up_saturday(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    await one_case(clock_stack, smtp)
    for off_day in (
        datetime(2026, 10, 1, 9, 0, tzinfo=SH),  # 国庆
        datetime(2026, 10, 7, 9, 0, tzinfo=SH),  # still 国庆 (a Wednesday)
        datetime(2026, 10, 11, 9, 0, tzinfo=SH),  # an ordinary Sunday
        at("2026-12-05T09:00"),  # an ordinary Saturday
    ):
        off = await digest(clock_stack, off_day, f"off-{off_day:%m%d}")
        assert (off.working_day, off.mailed) == (False, []), off_day
    saturday = await digest(clock_stack, datetime(2026, 10, 10, 9, 0, tzinfo=SH), "makeup")
    assert saturday.working_day and len(saturday.mailed) == 2
    assert {addressee(m) for m in await delivered(smtp, "2026-10-10", 2)} == OFFICES
    assert not [
        m
        for m in smtp.inbox.messages()
        if m["X-Appeals-Event"] == "digest" and m["X-Appeals-Case"] != "DIGEST-2026-10-10"
    ]


async def test_the_weekly_report_gives_each_supervisor_their_regions_rates_and_a_chart(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    await one_case(clock_stack, smtp)
    await travel_to(clock_stack, at("2026-12-07T09:30"))
    result: WeeklyResult = await clock_stack.client.execute_workflow(
        WeeklyReportWorkflow.run,
        DigestInput(scheduled_for=at("2026-12-07T09:30")),
        id="appeals-weekly-report-test",
        task_queue=clock_stack.task_queue,
    )
    week = (result.start.isoformat(), result.end.isoformat())
    assert week == (day("2026-11-30"), day("2026-12-06"))

    async def reports() -> dict[str, EmailMessage] | None:
        found = {
            addressee(m): m
            for m in smtp.inbox.messages()
            if m["X-Appeals-Event"] == "weekly-report"
        }
        return found if len(found) >= 5 else None

    got = await eventually(reports)
    # Every supervisor with a mailbox: the city's three and two districts'.
    assert set(got) == {
        "sup.zhang@appeals.example",
        "sup.liu@appeals.example",
        "sup.zhou@appeals.example",
        "sup.tianhe.ma@appeals.example",
        "sup.panyu.ou@appeals.example",
    }
    tianhe = body(got["sup.tianhe.ma@appeals.example"])
    assert "收件 1" in tianhe and "签收率" in tianhe  # one task each office that week
    assert "番禺" not in tianhe
    assert "本周无新收工单" in body(got["sup.panyu.ou@appeals.example"])
    charts = [
        p
        for p in got["sup.zhang@appeals.example"].iter_attachments()
        if p.get_content_type() == "image/png"
    ]
    assert len(charts) == 1 and charts[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
