"""Histories stay bounded (issue 10, "History"): a task tells its case only of its status,
by id; a case's Updates answer with an acknowledgement; a long-lived task continues as
new, and nothing it owes (a clock, an Update, a mail, a timeline row) is lost or doubled.

The bound stated: every run of a task or a case stays under RUN_BOUND events (a task
continues as new at TASK_CONTINUE_AFTER; its wind-down adds a few more), and a typical
case's workflows (case and tasks) hold under 1,000 events in all.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db import queries
from models.case import (
    CallbackInput,
    CaseAck,
    CaseState,
    DesignateInput,
    UrgeInput,
    WithdrawInput,
)
from models.tasks import (
    AcceptInput,
    ActionResult,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    ReturnInput,
    TaskState,
    TransferInput,
)
from reports.figures import Dimension, Window, figures
from services.temporal import execute
from tests.conftest import Stack, eventually
from tests.scenario import at
from tests.smtp import SmtpServer
from tests.workflows.helpers import (
    act,
    case_state,
    events,
    intake,
    open_case,
    opinions_in,
    projected,
    runs_of,
    task_query,
    wait_status,
    wait_tasks,
)
from tests.workflows.test_clocks import (
    HRSS_CITY,
    HRSS_HEAD,
    HRSS_OFFICE,
    LEADERSHIP,
    SUPERVISION,
    minute,
    open_lead,
    travel_to,
    wait_mails,
)
from workflows.department_task import TASK_CONTINUE_AFTER
from workflows.task_base import NOTES_KEPT

RUN_BOUND = 600
SUP = "sup.liu"
CLERK = "clerk.li"
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
ANSWERED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def notes(stack: Stack, task: TaskState, n: int, *, start: int = 0, at_once: int = 5) -> None:
    """``n`` notes, ``at_once`` in flight together: some arrive while a run winds down."""
    who = task.handlers[0]
    for first in range(start, start + n, at_once):
        await asyncio.gather(
            *(
                act(stack, task.task_id, "note", NoteInput(actor=who, text=f"第{i + 1}次跟进"))
                for i in range(first, min(first + at_once, start + n))
            )
        )


async def notes_until_continued(stack: Stack, task: TaskState, *, at_once: int) -> int:
    """Notes, ``at_once`` in flight together, until the task has continued as new (a
    few more batches may land on the new run); how many were sent."""
    sent = 0
    while len(await runs_of(stack, task.task_id)) < 2:
        assert sent < 4 * TASK_CONTINUE_AFTER, "the task never continued as new"
        await notes(stack, task, at_once, start=sent, at_once=at_once)
        sent += at_once
    return sent


async def continued(stack: Stack, task_id: str, runs: int = 2) -> list[WorkflowHistory]:
    async def check() -> list[WorkflowHistory] | None:
        found = await runs_of(stack, task_id)
        return found if len(found) >= runs else None

    return await eventually(check)


def timeline(stack: Stack, case_id: str) -> Counter[str]:
    return Counter(e.action for e in events(stack, case_id))


# ---- a typical case -------------------------------------------------------------------


async def test_a_typical_case_tells_only_statuses_and_stays_small(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(stack, co.task_id, "accept", AcceptInput(actor=co.handlers[0]))
    await act(stack, co.task_id, "note", NoteInput(actor=co.handlers[0], text="已联系平台"))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor=co.handlers[0], outcome="resolved", reply="工会意见：支持"),
    )
    who = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
    for text in ("约谈站点负责人", "平台承诺本周支付", "已回访劳动者"):
        await act(stack, lead.task_id, "note", NoteInput(actor=who, text=text))
    # The case's view of a task is a brief: ids, office, status; the task has the rest.
    brief = next(t for t in (await case_state(handle)).tasks if t.task_id == lead.task_id)
    assert (brief.office_name, brief.handlers) == (lead.office_name, lead.handlers)
    await opinions_in(stack, lead.task_id)
    await act(
        stack, lead.task_id, "complete", CompleteInput(actor=who, outcome="resolved", reply="已付")
    )
    await wait_status(handle, "awaiting_callback")
    ack = await handle.execute_update(
        "callback", CallbackInput(actor=CLERK, result="satisfied"), result_type=CaseAck
    )
    assert (ack.case_id, ack.status.value) == (handle.id, "closed")
    await handle.result()
    await projected(stack, handle.id)
    with Session(stack.engine) as session:
        row = queries.get_case(session=session, case_id=handle.id)
        assert row is not None and row.version == ack.version  # the ack names the row's version

    case = (await runs_of(stack, handle.id))[0]
    tasks = [(await runs_of(stack, t))[0] for t in (lead.task_id, co.task_id)]
    # Each task told its case three times (dispatched, accepted, completed), not once a
    # note; each a few hundred bytes, not the task's whole state.
    signals = [e for e in case.events if e.event_type == SIGNALED]
    task_told = [
        e
        for e in signals
        if e.workflow_execution_signaled_event_attributes.signal_name == "task_changed"
    ]
    assert len(task_told) == 6
    assert max(e.ByteSize() for e in task_told) < 600
    # No update's answer carries the case's state.
    completed = [e for e in case.events if e.event_type == ANSWERED]
    assert completed and max(e.ByteSize() for e in completed) < 600
    total = sum(len(h.events) for h in [case, *tasks])
    assert total < 1_000, total
    assert all(len(h.events) < 200 for h in [case, *tasks])


# ---- a long-lived case ----------------------------------------------------------------


async def test_a_long_lived_case_continues_as_new_and_ends_right(clock_stack: Stack) -> None:
    """100 notes, 10 extensions asked and granted, 5 transfers; a 督办 after the last
    lead task has continued as new. Every run stays under RUN_BOUND; the timeline, the
    read model and the figures tell the whole story once."""
    stack = clock_stack
    t0 = at("2026-12-07T09:30")  # a Monday morning, office hours
    await travel_to(stack, t0)
    handle = await open_case(stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(stack, co.task_id, "accept", AcceptInput(actor=co.handlers[0]))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor=co.handlers[0], outcome="resolved", reply="工会意见：支持"),
    )
    seen = {lead.task_id, co.task_id}
    for region in ("440111", "440104", "440105", "440103", "440112"):
        who = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
        await act(
            stack,
            lead.task_id,
            "transfer",
            TransferInput(actor=who, department="hrss", region=region, reason="属地人社办理"),
        )
        (lead,) = [t for t in await wait_tasks(handle, 1) if t.task_id not in seen]
        seen.add(lead.task_id)
    assert (lead.department, lead.region) == ("hrss", "440112")
    who = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
    for n in range(10):
        await notes(stack, lead, 10, start=10 * n)
        await act(
            stack,
            lead.task_id,
            "extend",
            ExtendInput(actor=who, period="1wd", reason=f"第{n + 1}次：等待平台"),
        )
        await act(stack, lead.task_id, "approve_extension", DecideExtensionInput(actor=SUP))
    runs = await continued(stack, lead.task_id)
    # The case signals the task's newest run: the 督办 reaches it.
    await handle.execute_update("urge", UrgeInput(actor=SUP, text="请本周内办结"))

    async def urged() -> bool | None:
        with Session(stack.engine) as session:
            row = queries.get_task(session=session, task_id=lead.task_id)
            return True if row is not None and row.priority == 1 else None

    await eventually(urged)
    state = await task_query(stack, lead.task_id)
    # The latest NOTES_KEPT notes (sent five at a time: in any order within five).
    assert set(state.notes) == {f"第{i}次跟进" for i in range(101 - NOTES_KEPT, 101)}
    reply = next(c for c in state.clocks if c.name == "reply")
    assert [e.status.value for e in reply.extensions] == ["approved"] * 10
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=who, outcome="resolved", reply="已责令平台足额支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor=CLERK, result="satisfied"))
    final = await handle.result()
    assert final.status.value == "closed"
    assert [t.status.value for t in final.tasks].count("transferred") == 5
    await projected(stack, handle.id)

    runs = await runs_of(stack, lead.task_id)
    assert len(runs) >= 2
    everything = [*(await runs_of(stack, handle.id)), *runs]
    for t in seen - {lead.task_id}:
        everything += await runs_of(stack, t)
    assert max(len(h.events) for h in everything) < RUN_BOUND
    # The timeline: every action once, however many runs the task took.
    actions = timeline(stack, handle.id)
    assert actions["note"] == 100
    assert (actions["extension_requested"], actions["extension_approved"]) == (10, 10)
    assert (actions["transferred"], actions["urged"], actions["completed"]) == (5, 1, 2)
    assert (actions["replied"], actions["closed"], actions["dispatched"]) == (1, 1, 7)
    # The read model: the task's row and its reply clock as the task's own state says.
    with Session(stack.engine) as session:
        row = queries.get_task(session=session, task_id=lead.task_id)
        assert row is not None and row.status == "completed"
        (deadline,) = [
            d
            for d in queries.task_deadlines(session=session, task_ids=[lead.task_id])[lead.task_id]
            if d.clock == "reply"
        ]
        after = await task_query(stack, lead.task_id)
        final_reply = next(c for c in after.clocks if c.name == "reply")
        assert deadline.due_at == final_reply.due_at
        assert deadline.budget_seconds == int(final_reply.budget.total_seconds())
        # 5wd and ten extensions of 1wd: fifteen office days of 7 h (the first, from
        # Monday 09:30, 7 h less half an hour).
        assert timedelta(seconds=deadline.budget_seconds) > timedelta(hours=15 * 7 - 1)
        day = t0.date()
        rows = {
            r.key: r for r in figures(session=session, by=Dimension.office, window=Window(day, day))
        }
    office = rows["hrss.huangpu"].counts
    assert (office["received"], office["transfers_received"]) == (1, 1)
    assert (office["extensions_asked"], office["extensions_granted"]) == (10, 10)
    assert (office["resolved"], office["replies"], office["satisfied"]) == (1, 1, 1)
    assert (office["replied_on_time"], office["reply_due"]) == (1, 1)


# ---- clocks, mail and Updates across a continue-as-new -------------------------------


async def test_a_clock_due_after_continue_as_new_fires_once(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    """test_clocks' ladder (every warning and rung of both clocks, each mailed once),
    on a lead task that continued as new before any of them came due."""
    _, lead_id, _ = await open_lead(clock_stack)
    lead = await task_query(clock_stack, lead_id)
    sent = await notes_until_continued(clock_stack, lead, at_once=8)
    await clock_stack.env.sleep(timedelta(days=20))
    expected = [
        ("sign_for", "warning-50", at("2027-01-04T09:30"), (HRSS_OFFICE,)),
        ("sign_for", "warning-75", at("2027-01-04T14:15"), (HRSS_OFFICE,)),
        ("sign_for", "rung-1", at("2027-01-05T09:00"), (HRSS_HEAD,)),
        ("reply", "warning-50", at("2027-01-06T09:30"), (HRSS_OFFICE,)),
        ("sign_for", "rung-2", at("2027-01-06T09:00"), tuple(sorted((HRSS_CITY, SUPERVISION)))),
        ("reply", "warning-75", at("2027-01-07T14:15"), (HRSS_OFFICE,)),
        ("sign_for", "rung-3", at("2027-01-11T09:00"), (LEADERSHIP,)),
        ("reply", "rung-1", at("2027-01-11T09:00"), (HRSS_HEAD,)),
        ("reply", "rung-2", at("2027-01-12T09:00"), tuple(sorted((HRSS_CITY, SUPERVISION)))),
        ("reply", "rung-3", at("2027-01-15T09:00"), (LEADERSHIP,)),
    ]
    got = await wait_mails(smtp, lead_id, len(expected))
    assert sorted(got) == sorted(expected)
    # Each warning and rung is one row of the timeline (and a night breach one more,
    # "breached", when the clock crossed it), whichever run fired it.
    rows = [e for e in events(clock_stack, lead.case_id) if e.task_id == lead_id]
    fired = Counter(
        (e.action, json.loads(e.data or "{}").get("clock"), json.loads(e.data or "{}").get("event"))
        for e in rows
        if e.action in ("warning", "escalated", "breached")
    )
    assert {k: n for k, n in fired.items() if n != 1} == {}
    assert {(c, ev) for a, c, ev in fired if a != "breached"} == {
        (c, ev) for c, ev, _, _ in expected
    }
    assert Counter(e.action for e in rows)["note"] == sent
    for run in await runs_of(clock_stack, lead_id):
        assert len(run.events) < RUN_BOUND


async def test_a_new_task_mail_waiting_for_office_hours_outlives_the_run(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    """A case opened on New Year's Eve at night: the new-task mail waits for Monday's
    opening, and goes out once then, though the task continued as new meanwhile."""
    await travel_to(clock_stack, at("2026-12-31T21:00"))
    handle = await open_case(clock_stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await notes_until_continued(clock_stack, lead, at_once=8)

    def new_task_mails() -> list[Any]:
        return [
            m
            for m in smtp.inbox.messages()
            if m["X-Appeals-Task"] == lead.task_id and m["X-Appeals-Event"] == "new-task"
        ]

    assert new_task_mails() == []
    await travel_to(clock_stack, at("2027-01-04T10:00"))

    async def mailed() -> list[Any] | None:
        return new_task_mails() or None

    (mail,) = await eventually(mailed)
    assert minute(mail["Date"].datetime) == at("2027-01-04T09:00")


async def test_pending_updates_survive_continue_as_new(stack: Stack) -> None:
    """Notes sent twenty at a time across the run's end: each taken once, none lost; the
    task then ends on its newest run and its case hears of it."""
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
    total = await notes_until_continued(stack, lead, at_once=20)
    await notes(stack, lead, 40, start=total, at_once=20)  # and on the new run
    total += 40
    await projected(stack, handle.id)
    noted = [e.detail or "" for e in events(stack, handle.id) if e.action == "note"]
    assert sorted(noted) == sorted(f"第{i + 1}次跟进" for i in range(total))
    await handle.execute_update("withdraw", WithdrawInput(actor=CLERK, reason="已和解"))
    final = await handle.result()
    assert {t.task_id: t.status.value for t in final.tasks}[lead.task_id] == "cancelled"
    assert [r.task_id for r in final.results].count(lead.task_id) == 1


async def test_notes_sent_back_to_back_do_not_hold_the_run_back(stack: Stack) -> None:
    """One note after another, each sent the moment the last is answered (not waiting for
    the read model), as a script would: the run still continues as new near
    TASK_CONTINUE_AFTER. A note that arrives while it winds down is refused by the
    validator (nothing of it applied) and sent again to the new run; every note lands
    once. Before, each note kept the run from continuing: 909 events in bench/history.py."""
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    who = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
    sent = 0
    while len(await runs_of(stack, lead.task_id)) < 2:
        assert sent < 2 * TASK_CONTINUE_AFTER, "the task never continued as new"
        for _ in range(10):
            note = NoteInput(actor=who, text=f"第{sent + 1}次跟进")
            await execute(stack.client, lead.task_id, "note", note, ActionResult)
            sent += 1
    first, *_ = await runs_of(stack, lead.task_id)
    assert len(first.events) < RUN_BOUND
    await projected(stack, handle.id)
    noted = [e.detail or "" for e in events(stack, handle.id) if e.action == "note"]
    assert sorted(noted) == sorted(f"第{i + 1}次跟进" for i in range(sent))


async def statuses_are(handle: WorkflowHandle[Any, Any], wanted: list[str]) -> bool | None:
    """Whether the case lists its tasks in these statuses, in order (None: not yet)."""
    return [t.status.value for t in (await case_state(handle)).tasks] == wanted or None


async def test_a_designation_the_validator_cannot_place_is_refused_by_the_handler(
    stack: Stack,
) -> None:
    """The routing's office placements stay out of the history (case-history-slim): the
    validator knows the places of the offices that had the case; a street that falls
    back on such an office is refused by the handler, with the same words, and nothing
    changes (only the refused Update is in the history)."""
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor=lead.handlers[0], reason="应由市场监管处理", owner="samr"),
    )
    # samr leads now, union still co-handles. Not "two tasks dispatched": until the case
    # has heard of the return it still counts the returned task as dispatched, and a
    # designation sent then meets a case whose samr task is not there yet.
    await eventually(lambda: statuses_are(handle, ["returned", "dispatched", "dispatched"]))
    await handle.execute_update(
        "designate",
        DesignateInput(actor=SUP, department="hrss", region="440106", reason="欠薪属人社职责"),
    )

    # The Update returns once the designated task is started; the case lists it (and
    # the cancelled samr task) as each reports, so the comparison waits for both.
    seen: list[str] = []

    async def designated() -> CaseState | None:
        state = await case_state(handle)
        seen[:] = [t.status.value for t in state.tasks]
        return state if seen == ["returned", "dispatched", "cancelled", "dispatched"] else None

    try:
        before = await eventually(designated)
    except AssertionError as e:
        # Once seen in a full suite, never alone: say where the tasks stood.
        raise AssertionError(f"the designation did not settle; the tasks were {seen}") from e
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(
            "designate",
            # 天河南街道 has no 人社 office of its own: 天河区's takes it, a third time.
            DesignateInput(actor=SUP, department="hrss", region="440106008", reason="属地"),
        )
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.message == (
        "天河区人力资源和社会保障局 has already had this case twice; designate another office"
    )
    after = await case_state(handle)
    assert [(t.task_id, t.status) for t in after.tasks] == [
        (t.task_id, t.status) for t in before.tasks
    ]
