"""Clocks on the time-skipping server with a real SMTP server (aiosmtpd).

Every case opens at Thursday 2026-12-31 10:00 Shanghai. 2027-01-01 (Friday) is New
Year's Day, so these also cross a holiday and a weekend. Expected instants are worked
out by hand in the comments: office hours are 09:00–12:00 and 13:30–17:30 (7 h a day).
The scenario is played whole weeks later, on a calendar moved with it
(tests/scenario.py).

The lead task (人社 天河区, plan labour_inspection) carries sign-for 1wd and reply 5wd
(and a statutory 60wd clock that starts on 签收):
  sign-for: receipt day 12-31 not counted; 01-01 holiday, 01-02/03 weekend → due
            Mon 01-04 17:30. Budget = 12-31 10:00–17:30 (6 h) + 01-04 (7 h) = 13 h.
            50% = 6.5 h → 01-04 09:30; 75% = 9.75 h → 01-04 14:15.
  reply:    5th working day after 12-31 → Fri 01-08 17:30; budget 6 h + 5×7 h = 41 h.
            50% = 20.5 h → 01-06 09:30; 75% = 30.75 h → 01-07 14:15.
Rungs: 1 at the breach, 2 one working day later, 3 three working days after that;
a breach at 17:30 is mailed at the next opening (09:00), never at night.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from db import queries
from db.tables import OutboxRow
from models.case import ProceedInput, SetPlanInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ProvideInfoInput,
    RequestInfoInput,
)
from settings import Settings
from tests.conftest import Stack, eventually, running_stack
from tests.scenario import at
from tests.smtp import SmtpServer
from tests.workflows.helpers import (
    act,
    intake,
    open_case,
    opinions_in,
    task_query,
    wait_tasks,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = at("2026-12-31T10:00")
HRSS_OFFICE = "hrss.tianhe@appeals.example"
HRSS_HEAD = "hrss.tianhe.head@appeals.example"
HRSS_CITY = "hrss.city@appeals.example"
SUPERVISION = "social_work.city@appeals.example"
LEADERSHIP = "leadership@appeals.example"


def minute(d: datetime | None) -> datetime:
    """Instants to the nearest minute: the test server's clock runs on for the few
    milliseconds each action takes, and the due times tested here are whole minutes."""
    assert d is not None
    return (d + timedelta(seconds=30)).astimezone(SH).replace(second=0, microsecond=0)


async def refused(action: Awaitable[object], message: str) -> None:
    """The update must be rejected by its validator with ``message`` in the error."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await action
    assert isinstance(info.value.cause, ApplicationError)
    assert message in info.value.cause.message


def rounded(td: timedelta) -> timedelta:
    return timedelta(minutes=round(td / timedelta(minutes=1)))


async def travel_to(stack: Stack, when: datetime) -> None:
    now = await stack.env.get_current_time()
    assert now < when, f"the test server is already at {now}"
    await stack.env.sleep(when - now)


async def open_lead(stack: Stack, **overrides: object) -> tuple[str, str, str]:
    """Open the wage-arrears case at T0; return (case id, lead task id, co task id)."""
    await travel_to(stack, T0)
    handle = await open_case(stack, intake(**overrides))
    tasks = await wait_tasks(handle, 2)
    lead = next(t for t in tasks if t.role.value == "lead")
    co = next(t for t in tasks if t.role.value == "co")
    return handle.id, lead.task_id, co.task_id


def mails(smtp: SmtpServer, task: str) -> list[tuple[str, str, datetime, tuple[str, ...]]]:
    """(clock, event, Date, sorted recipients) of the mails about one task's clocks, in
    order (not the new-task mail, which every task gets)."""
    out = []
    for m in smtp.inbox.messages():
        if m["X-Appeals-Task"] == task and m["X-Appeals-Event"] != "new-task":
            out.append(
                (
                    m["X-Appeals-Clock"],
                    m["X-Appeals-Event"],
                    minute(date_of(m)),
                    tuple(sorted(a.addr_spec for a in m["To"].addresses)),
                )
            )
    return out


def date_of(m: EmailMessage) -> datetime:
    return m["Date"].datetime  # type: ignore[no-any-return]


async def wait_mails(smtp: SmtpServer, task: str, count: int) -> list[tuple[object, ...]]:
    async def check() -> list[tuple[object, ...]] | None:
        found = mails(smtp, task)
        return list(found) if len(found) >= count else None

    return await eventually(check, timeout=30)


async def test_deadlines_cross_the_new_year_holiday_and_the_weekend(clock_stack: Stack) -> None:
    _, lead, co = await open_lead(clock_stack)
    state = await task_query(clock_stack, lead)
    clocks = {c.name: c for c in state.clocks}
    assert minute(clocks["sign_for"].due_at) == at("2027-01-04T17:30")
    assert minute(clocks["reply"].due_at) == at("2027-01-08T17:30")
    assert rounded(clocks["reply"].budget) == timedelta(hours=41)
    assert {e.key: minute(e.at) for e in clocks["sign_for"].events} == {
        "warning-50": at("2027-01-04T09:30"),
        "warning-75": at("2027-01-04T14:15"),
        "rung-1": at("2027-01-04T17:30"),
        # rung 2: one working day after the breach; rung 3: three more.
        "rung-2": at("2027-01-05T17:30"),
        "rung-3": at("2027-01-08T17:30"),
    }
    assert clocks["statutory"].status.value == "pending"  # starts on 签收
    assert {c.name for c in (await task_query(clock_stack, co)).clocks} == {"sign_for", "reply"}


async def test_breach_climbs_all_three_rungs_by_email_each_once(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    _, lead, _ = await open_lead(clock_stack)
    await clock_stack.env.sleep(timedelta(days=20))
    expected = [
        # sign-for: warnings to the office; rung 1 to the head the next morning.
        ("sign_for", "warning-50", at("2027-01-04T09:30"), (HRSS_OFFICE,)),
        ("sign_for", "warning-75", at("2027-01-04T14:15"), (HRSS_OFFICE,)),
        ("sign_for", "rung-1", at("2027-01-05T09:00"), (HRSS_HEAD,)),
        ("reply", "warning-50", at("2027-01-06T09:30"), (HRSS_OFFICE,)),
        ("sign_for", "rung-2", at("2027-01-06T09:00"), tuple(sorted((HRSS_CITY, SUPERVISION)))),
        ("reply", "warning-75", at("2027-01-07T14:15"), (HRSS_OFFICE,)),
        # reply breaches Fri 01-08 17:30 → mailed Mon 01-11 09:00, as is sign-for's
        # rung 3 (01-08 17:30).
        ("sign_for", "rung-3", at("2027-01-11T09:00"), (LEADERSHIP,)),
        ("reply", "rung-1", at("2027-01-11T09:00"), (HRSS_HEAD,)),
        ("reply", "rung-2", at("2027-01-12T09:00"), tuple(sorted((HRSS_CITY, SUPERVISION)))),
        ("reply", "rung-3", at("2027-01-15T09:00"), (LEADERSHIP,)),
    ]
    got = await wait_mails(smtp, lead, len(expected))
    assert sorted(got) == sorted(expected)
    ids = [
        m["Message-ID"]
        for m in smtp.inbox.messages()
        if m["X-Appeals-Task"] == lead and m["X-Appeals-Event"] != "new-task"
    ]
    assert len(ids) == len(set(ids))

    async def recorded() -> list[OutboxRow] | None:
        # The relay records a pass's deliveries after the server took them all.
        with Session(clock_stack.engine) as session:
            rows = [
                r
                for r in queries.outbox(session=session)
                if r.task_id == lead and r.event != "new-task"
            ]
        return rows if {r.status for r in rows} == {"sent"} else None

    assert len(await eventually(recorded)) == len(expected)


async def test_nothing_fires_after_completion(clock_stack: Stack, smtp: SmtpServer) -> None:
    case_id, lead, co = await open_lead(clock_stack)
    # A supervisor lets the lead answer without the co-handler, whose clocks go on.
    await clock_stack.client.get_workflow_handle(case_id).execute_update(
        "proceed", ProceedInput(actor="sup.zhang", reason="协办意见另行反馈")
    )
    await opinions_in(clock_stack, lead)
    await act(clock_stack, lead, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(
        clock_stack,
        lead,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已支付"),
    )
    await clock_stack.env.sleep(timedelta(days=30))
    # The co-handler's clocks keep running and escalate: proof that time passed.
    await wait_mails(smtp, co, 10)
    assert mails(smtp, lead) == []
    state = await task_query(clock_stack, lead)
    assert all(c.status.value == "stopped" for c in state.clocks if c.name != "statutory")
    assert all(e.fired_at is None for c in state.clocks for e in c.events)


async def test_a_restarted_worker_fires_each_rung_once(
    own_env: WorkflowEnvironment, clock_settings: Settings, smtp: SmtpServer
) -> None:
    # No workflow cache: every workflow task replays the history, as after a restart,
    # and no sticky queue ties the case to the first worker.
    async with running_stack(own_env, clock_settings, max_cached_workflows=0) as first:
        _, lead, _ = await open_lead(first)
        await first.env.sleep(timedelta(days=5, hours=1))  # past sign-for rung 1 (01-05)
        before = await wait_mails(smtp, lead, 3)
    # A new worker process on the same task queue picks up the running case.
    async with running_stack(
        own_env, clock_settings, task_queue=first.task_queue, max_cached_workflows=0
    ) as second:
        await second.env.sleep(timedelta(days=20))
        after = await wait_mails(smtp, lead, 10)
    assert before == after[: len(before)]
    keys = [(clock, event) for clock, event, _, _ in mails(smtp, lead)]
    assert len(keys) == len(set(keys)) == 10


async def test_pause_while_waiting_for_the_worker(clock_stack: Stack) -> None:
    _, lead, _ = await open_lead(clock_stack)
    await act(clock_stack, lead, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(
        clock_stack,
        lead,
        "request_info",
        RequestInfoInput(actor="hrss.tianhe.wang", question="请提供工资流水"),
    )
    state = await task_query(clock_stack, lead)
    reply = next(c for c in state.clocks if c.name == "reply")
    assert (state.status.value, reply.status.value, reply.due_at) == (
        "waiting_on_worker",
        "paused",
        None,
    )
    # The worker brings the material on Saturday 01-02 10:00: nothing of the reply
    # budget was spent while waiting, so the 41 h start again on Monday 09:00:
    # 01-04..08 give 35 h, the last 6 h end Monday 01-11 16:30.
    await clock_stack.env.sleep(at("2027-01-02T10:00") - T0)
    await refused(
        act(
            clock_stack,
            lead,
            "provide_info",
            ProvideInfoInput(actor="hrss.tianhe.wang", text="工资流水三页"),
        ),
        "not an intake clerk",
    )
    await act(
        clock_stack, lead, "provide_info", ProvideInfoInput(actor="clerk.li", text="工资流水三页")
    )
    state = await task_query(clock_stack, lead)
    reply = next(c for c in state.clocks if c.name == "reply")
    assert state.status.value == "accepted" and reply.status.value == "running"
    assert minute(reply.due_at) == at("2027-01-11T16:30")
    (pause,) = reply.pauses
    assert (pause.by, pause.resumed_by) == ("hrss.tianhe.wang", "clerk.li")
    assert minute(pause.started_at + (pause.worked or timedelta(0))) == minute(
        pause.started_at + timedelta(hours=6)
    )  # only 12-31's office hours were paused


async def test_pause_limit_resumes_the_clock_by_itself(clock_stack: Stack) -> None:
    _, lead, _ = await open_lead(clock_stack)
    await act(clock_stack, lead, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(
        clock_stack,
        lead,
        "request_info",
        RequestInfoInput(actor="hrss.tianhe.wang", question="请提供劳动合同"),
    )
    # max_pause is 10wd, measured from the clock's start: the 10th working day after
    # 12-31 is 01-15 (01-04..08, 01-11..15), so 6 h + 70 h = 76 h of office time from
    # 12-31 10:00, which the pause uses up at 01-15 17:30. The clock resumes then.
    await clock_stack.env.sleep(timedelta(days=25))

    async def resumed() -> object:
        s = await task_query(clock_stack, lead)
        return s if s.status.value == "accepted" else None

    state = await eventually(resumed)
    reply = next(c for c in state.clocks if c.name == "reply")  # type: ignore[attr-defined]
    (pause,) = reply.pauses
    assert pause.resumed_by == "system"
    assert minute(pause.ended_at) == at("2027-01-15T17:30")
    # All 41 h are left: from Mon 01-18 09:00, 01-18..22 give 35 h, 6 h more → 01-25 16:30.
    assert minute(reply.due_at) == at("2027-01-25T16:30")


async def test_extension_requested_approved_and_capped(clock_stack: Stack) -> None:
    _, lead, _ = await open_lead(clock_stack)
    await act(clock_stack, lead, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await refused(
        act(
            clock_stack,
            lead,
            "extend",
            ExtendInput(actor="hrss.tianhe.wang", period="11wd", reason="需调取平台数据"),
        ),
        "caps extensions",
    )
    await refused(
        act(
            clock_stack,
            lead,
            "extend",
            ExtendInput(actor="hrss.tianhe.wang", period="48h", reason="需调取平台数据"),
        ),
        "counted in wd",
    )
    await act(
        clock_stack,
        lead,
        "extend",
        ExtendInput(actor="hrss.tianhe.wang", period="5wd", reason="需调取平台数据"),
    )
    await refused(
        act(clock_stack, lead, "approve_extension", DecideExtensionInput(actor="hrss.tianhe.wang")),
        "not a supervisor",
    )
    await act(clock_stack, lead, "approve_extension", DecideExtensionInput(actor="sup.liu"))
    reply = next(c for c in (await task_query(clock_stack, lead)).clocks if c.name == "reply")
    # 5wd more from the old due (Fri 01-08 17:30): 01-11..01-15 → Fri 01-15 17:30.
    assert minute(reply.due_at) == at("2027-01-15T17:30")
    assert rounded(reply.budget) == timedelta(hours=41 + 35)
    (ext,) = reply.extensions
    assert (ext.status.value, ext.decided_by, ext.added) == (
        "approved",
        "sup.liu",
        timedelta(hours=35),
    )
    await act(
        clock_stack,
        lead,
        "extend",
        ExtendInput(actor="hrss.tianhe.wang", period="5wd", reason="平台仍未提供数据"),
    )
    await refused(
        act(clock_stack, lead, "deny_extension", DecideExtensionInput(actor="sup.liu")),
        "needs a reason",
    )
    await act(
        clock_stack,
        lead,
        "deny_extension",
        DecideExtensionInput(actor="sup.liu", reason="材料已齐，应按期办结"),
    )
    reply = next(c for c in (await task_query(clock_stack, lead)).clocks if c.name == "reply")
    assert minute(reply.due_at) == at("2027-01-15T17:30")
    assert [e.status.value for e in reply.extensions] == ["approved", "denied"]


async def test_a_plan_change_keeps_the_time_already_spent(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    case_id, lead, _ = await open_lead(clock_stack)
    await clock_stack.env.sleep(timedelta(hours=2))  # 12:00 on 12-31
    handle = clock_stack.client.get_workflow_handle(case_id)
    await handle.execute_update(
        "set_plan", SetPlanInput(actor="sup.zhang", plan="urgent", reason="劳动者生活困难")
    )

    async def replanned() -> object:
        s = await task_query(clock_stack, lead)
        return s if all(c.plan == "urgent" for c in s.clocks if c.name != "statutory") else None

    state = await eventually(replanned)
    clocks = {c.name: c for c in state.clocks}  # type: ignore[attr-defined]
    # Urgent reply is 24 h of wall time from the original start 12-31 10:00.
    assert minute(clocks["reply"].due_at) == at("2027-01-01T10:00")
    # Urgent sign-for (30 m) ran out at 10:30, before the change: breached at once,
    # and urgent mail goes out at once, holiday or not.
    assert minute(clocks["sign_for"].due_at) == at("2026-12-31T10:30")
    got = await wait_mails(smtp, lead, 1)
    # The warnings it passed before the change are not sent: the breach says more.
    assert got == [("sign_for", "rung-1", at("2026-12-31T12:00"), (HRSS_HEAD,))]


async def test_smtp_down_delays_mail_but_not_the_case(clock_stack: Stack, smtp: SmtpServer) -> None:
    smtp.stop()
    _, lead, _ = await open_lead(clock_stack)
    await clock_stack.env.sleep(at("2027-01-04T10:00") - T0)  # past warning-50 (09:30)

    async def retrying() -> OutboxRow | None:
        with Session(clock_stack.engine) as session:
            row = session.get(OutboxRow, f"{lead}:sign_for:warning-50")
            return row if row is not None and row.status == "retrying" else None

    row = await eventually(retrying)
    assert row.attempts >= 1 and row.last_error
    # The case goes on meanwhile: the office signs for the task.
    await act(clock_stack, lead, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    smtp.start()
    await clock_stack.env.sleep(timedelta(hours=1))
    got = await wait_mails(smtp, lead, 1)
    assert got[0][:2] == ("sign_for", "warning-50")

    # The relay records a lane's outcomes after its mails are handed over, so the
    # row turns "sent" a moment after the mail arrives.
    async def sent() -> OutboxRow | None:
        with Session(clock_stack.engine) as session:
            row = session.get(OutboxRow, f"{lead}:sign_for:warning-50")
            return row if row is not None and row.status == "sent" else None

    assert (await eventually(sent)).sent_at is not None
