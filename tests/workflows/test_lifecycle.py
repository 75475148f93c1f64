"""A case from intake to close on the time-skipping server, with the real activities."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db import queries
from models.case import CallbackInput, WithdrawInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    NoteInput,
    ReturnInput,
    TransferInput,
)
from sla import WorkCalendar
from tests.conftest import Stack, eventually
from tests.workflows.helpers import (
    act,
    case_state,
    events,
    intake,
    open_case,
    opinions_in,
    task_query,
    wait_status,
    wait_tasks,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHANGHAI_CLOSE = time(17, 30)


async def test_wage_arrears_from_intake_to_close(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")

    # Routed by the sample rules: hrss at the workplace (天河区), union co-handling.
    assert (lead.role.value, lead.department, lead.region) == ("lead", "hrss", "440106")
    assert (co.role.value, co.department, co.region) == ("co", "union", "440106")
    state = await case_state(handle)
    assert state.routing[0].rule_id == "labour"
    assert state.routing[0].sla_plan == "labour_inspection"

    # Sign-for within 1wd, reply within 5wd, both at the close of office hours
    # (17:30 Shanghai) on a working day; the statutory 60wd clock waits for 签收
    # and runs on the lead task only.
    calendar = WorkCalendar()
    sign, reply, statutory = lead.clocks
    assert [(c.name, c.spec.period, c.status.value) for c in lead.clocks] == [
        ("sign_for", "1wd", "running"),
        ("reply", "5wd", "running"),
        ("statutory", "60wd", "pending"),
    ]
    assert [c.name for c in co.clocks] == ["sign_for", "reply"]
    for d in (sign, reply):
        assert d.due_at is not None
        local = d.due_at.astimezone(SHANGHAI)
        assert local.time() == SHANGHAI_CLOSE
        assert calendar.is_workday(local.date())
    assert sign.due_at is not None
    assert (
        calendar.nth_workday_after(lead.dispatched_at.astimezone(SHANGHAI).date(), 1)
        == sign.due_at.astimezone(SHANGHAI).date()
    )

    await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(stack, lead.task_id, "note", NoteInput(actor="hrss.tianhe.li", text="约谈站点负责人"))
    assert (await task_query(stack, lead.task_id)).notes == ["约谈站点负责人"]
    # The co-handler gives its opinion first; the case has not replied yet.
    await act(stack, co.task_id, "accept", AcceptInput(actor="union.tianhe.jin"))
    await act(
        stack,
        co.task_id,
        "complete",
        CompleteInput(actor="union.tianhe.jin", outcome="resolved", reply="工会跟进"),
    )
    assert (await case_state(handle)).status.value == "open"
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已足额支付"),
    )
    state = await wait_status(handle, "awaiting_callback")
    assert state.reply == "已足额支付"

    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    final = await handle.result()
    assert final.status.value == "closed"
    assert final.callback is not None and final.callback.value == "satisfied"

    # The read model shows the same story, each event once.
    actions = [e.action for e in events(stack, handle.id)]
    assert actions.count("dispatched") == 2
    assert actions[:2] == ["opened", "routed"]
    assert actions[-2:] == ["callback", "closed"]
    assert {"accepted", "note", "completed", "replied"} <= set(actions)
    with Session(stack.engine) as session:
        row = queries.get_case(session=session, case_id=handle.id)
        assert row is not None and row.status == "closed" and row.rule_id == "labour"
        tasks = queries.case_tasks(session=session, case_id=handle.id)
        assert [t.status for t in tasks] == ["completed", "completed"]
        deadlines = queries.task_deadlines(session=session, task_ids=[lead.task_id])
        # Every clock stopped when the task completed: nothing left running.
        assert all(d.running_due_at is None for d in deadlines[lead.task_id])


async def test_same_request_id_gives_the_same_case(stack: Stack) -> None:
    form = intake()
    first = await open_case(stack, form)
    second = await open_case(stack, form)
    assert first.id == second.id
    assert first.result_run_id == second.result_run_id


async def test_unsatisfied_reopens_the_lead_task_once(stack: Stack) -> None:
    handle = await open_case(stack, intake(category="housing", residence="440106"))
    (lead,) = await wait_tasks(handle, 1)
    assert (lead.department, lead.region) == ("housing", "440106")
    handler = lead.handlers[0]

    async def finish(task_id: str) -> None:
        await act(stack, task_id, "accept", AcceptInput(actor=handler))
        await act(
            stack,
            task_id,
            "complete",
            CompleteInput(actor=handler, outcome="partially_resolved", reply="已登记公租房轮候"),
        )

    await finish(lead.task_id)
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="unsatisfied"))
    state = await case_state(handle)
    assert state.status.value == "open" and state.reopened

    reopened = [t for t in await wait_tasks(handle, 1) if t.task_id != lead.task_id]
    assert [(t.department, t.region, t.role.value) for t in reopened] == [
        ("housing", "440106", "lead")
    ]
    await finish(reopened[0].task_id)
    await wait_status(handle, "awaiting_callback")
    # The second unsatisfied callback closes the case: a lead task reopens only once.
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="unsatisfied"))
    final = await handle.result()
    assert final.status.value == "closed"
    assert len(final.tasks) == 2


async def test_return_reroutes_without_the_returning_office(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor="hrss.tianhe.wang", reason="用工主体注册在白云区，请改派", owner="hrss"),
    )

    # T1 returned, T2 (co) open, T3 the new lead.
    (relead,) = [t for t in await wait_tasks(handle, 2) if t.role.value == "lead"]
    assert (relead.department, relead.region) != ("hrss", "440106")
    state = await case_state(handle)
    assert [d.rule_id for d in state.routing] == ["labour", "labour"]
    assert (await task_query(stack, lead.task_id)).status.value == "returned"
    actions = [e.action for e in events(stack, handle.id)]
    assert "returned" in actions and "rerouted" in actions


async def test_transfer_starts_a_task_at_the_target_office(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(
        stack,
        lead.task_id,
        "transfer",
        TransferInput(
            actor="hrss.tianhe.wang",
            department="samr",
            region="440106",
            reason="实为平台抽成规则争议",
        ),
    )

    async def transferred() -> list[str] | None:
        state = await case_state(handle)
        found = [t.task_id for t in state.tasks if t.department == "samr"]
        return found or None

    (target_id,) = await eventually(transferred)
    target = await task_query(stack, target_id)
    assert (target.department, target.region, target.role.value, target.status.value) == (
        "samr",
        "440106",
        "lead",
        "dispatched",
    )
    assert (await task_query(stack, lead.task_id)).status.value == "transferred"


async def test_withdraw_cancels_every_open_task(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    tasks = await wait_tasks(handle, 2)
    await handle.execute_update(
        "withdraw", WithdrawInput(actor="clerk.li", reason="劳动者已自行和解")
    )
    final = await handle.result()
    assert final.status.value == "withdrawn"
    for t in tasks:
        assert (await task_query(stack, t.task_id)).status.value == "cancelled"
    with Session(stack.engine) as session:
        assert queries.overdue_tasks(session=session, now=final.opened_at.replace(year=2100)) == []


async def test_the_callback_remark_is_kept_where_the_callback_is_shown(stack: Stack) -> None:
    handle = await open_case(stack, intake(category="housing", residence="440106"))
    (lead,) = await wait_tasks(handle, 1)
    handler = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=handler))
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=handler, outcome="resolved", reply="已安排公租房"),
    )
    await wait_status(handle, "awaiting_callback")
    remark = "劳动者表示满意，希望尽快入住"
    await handle.execute_update(
        "callback", CallbackInput(actor="clerk.li", result="satisfied", remark=remark)
    )
    final = await handle.result()
    assert final.callback_remark == remark
    (callback,) = [e for e in events(stack, handle.id) if e.action == "callback"]
    assert callback.detail is not None and remark in callback.detail
    assert callback.data is not None and remark in callback.data
    with Session(stack.engine) as session:
        row = queries.get_case(session=session, case_id=handle.id)
        assert row is not None and (row.callback, row.callback_remark) == ("satisfied", remark)
