"""Across departments and regions: co-handling, returns without ping-pong, dispatch
review and designation, transfers — on the time-skipping server."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db import queries
from models.case import CallbackInput, DesignateInput, ProceedInput
from models.tasks import (
    AcceptInput,
    AddCohandlerInput,
    CompleteInput,
    ReturnInput,
    TaskState,
    TransferInput,
)
from tests.conftest import Stack, eventually
from tests.smtp import SmtpServer
from tests.workflows.helpers import (
    act,
    case_state,
    events,
    intake,
    open_case,
    task_query,
    wait_status,
)


async def refused(action: Awaitable[object], message: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await action
    assert isinstance(info.value.cause, ApplicationError)
    assert message in info.value.cause.message, info.value.cause.message


async def open_tasks(stack: Stack, handle: Any, count: int) -> list[TaskState]:
    """The case's open tasks once there are ``count`` of them."""

    async def check() -> list[str] | None:
        state = await case_state(handle)
        found = [t.task_id for t in state.tasks if t.status.value in ("dispatched", "accepted")]
        return found if len(found) == count else None

    return [await task_query(stack, t) for t in await eventually(check)]


def by_role(tasks: list[TaskState], role: str) -> list[TaskState]:
    return [t for t in tasks if t.role.value == role]


async def finish(stack: Stack, task: TaskState, reply: str) -> None:
    actor = task.handlers[0]
    await act(stack, task.task_id, "accept", AcceptInput(actor=actor))
    await act(
        stack, task.task_id, "complete", CompleteInput(actor=actor, outcome="resolved", reply=reply)
    )


async def test_lead_replies_only_with_every_opinion_in(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    tasks = await open_tasks(stack, handle, 2)
    (lead,), (co,) = by_role(tasks, "lead"), by_role(tasks, "co")
    await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await refused(
        act(
            stack,
            lead.task_id,
            "complete",
            CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已支付"),
        ),
        "waiting for 天河区总工会",
    )
    await finish(stack, co, "工会意见：支持劳动者主张")

    async def opinion_in() -> TaskState | None:
        s = await task_query(stack, lead.task_id)
        return s if s.opinions and not s.waiting_for else None

    state = await eventually(opinion_in)
    assert [(o.office_name, o.text) for o in state.opinions] == [
        ("天河区总工会", "工会意见：支持劳动者主张")
    ]
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已支付"),
    )
    assert (await wait_status(handle, "awaiting_callback")).reply == "已支付"


async def test_a_supervisor_lets_the_lead_proceed_without_a_late_cohandler(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    tasks = await open_tasks(stack, handle, 2)
    (lead,), (co,) = by_role(tasks, "lead"), by_role(tasks, "co")
    await refused(
        handle.execute_update("proceed", ProceedInput(actor="clerk.li", reason="协办单位逾期")),
        "not a supervisor",
    )
    await handle.execute_update("proceed", ProceedInput(actor="sup.zhang", reason="协办单位逾期"))
    await finish(stack, lead, "已支付")
    state = await wait_status(handle, "awaiting_callback")
    assert state.proceeded
    assert (await task_query(stack, co.task_id)).status.value == "dispatched"
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await handle.result()
    # The late co-handler's task ends with the case; its clocks stop.
    assert (await task_query(stack, co.task_id)).status.value == "cancelled"
    assert "proceeded" in [e.action for e in events(stack, handle.id)]


async def test_the_lead_asks_for_another_cohandler(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
    await refused(
        act(
            stack,
            lead.task_id,
            "add_cohandler",
            AddCohandlerInput(actor="hrss.tianhe.wang", department="hrss", reason="自己协办自己"),
        ),
        "cannot be its own co-handler",
    )
    await act(
        stack,
        lead.task_id,
        "add_cohandler",
        AddCohandlerInput(actor="hrss.tianhe.wang", department="samr", reason="涉及平台抽成规则"),
    )
    tasks = await open_tasks(stack, handle, 3)
    assert sorted((t.department, t.region) for t in by_role(tasks, "co")) == [
        ("samr", "440106"),
        ("union", "440106"),
    ]

    async def waiting() -> TaskState | None:
        s = await task_query(stack, lead.task_id)
        return s if len(s.waiting_for) == 2 else None

    assert sorted((await eventually(waiting)).waiting_for) == [
        "天河区市场监督管理局",
        "天河区总工会",
    ]


async def test_return_goes_to_the_suggested_owner(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
    await refused(
        act(
            stack,
            lead.task_id,
            "return",
            {"actor": "hrss.tianhe.wang", "reason": "不属本局", "owner": "tax"},
        ),
        "unknown owner",
    )
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor="hrss.tianhe.wang", reason="实为平台抽成规则争议", owner="samr"),
    )
    tasks = await open_tasks(stack, handle, 2)
    (relead,) = by_role(tasks, "lead")
    assert (relead.department, relead.region) == ("samr", "440106")
    state = await case_state(handle)
    assert [(r.department, r.owner) for r in state.returns] == [("hrss", "samr")]


async def test_second_return_goes_to_review_and_a_designated_task_cannot_return(
    stack: Stack,
) -> None:
    handle = await open_case(stack, intake())
    lead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor="hrss.tianhe.wang", reason="应由市场监管处理", owner="samr"),
    )
    relead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
    await act(
        stack,
        relead.task_id,
        "return",
        ReturnInput(actor=relead.handlers[0], reason="欠薪应由人社处理", owner="hrss"),
    )
    state = await wait_status(handle, "in_review")
    assert state.review_due is not None and len(state.returns) == 2
    await refused(
        handle.execute_update(
            "designate", DesignateInput(actor="clerk.li", department="hrss", reason="劳动报酬争议")
        ),
        "not a supervisor",
    )
    await handle.execute_update(
        "designate",
        DesignateInput(
            actor="sup.liu", department="hrss", region="440106", reason="欠薪属劳动监察职责"
        ),
    )
    tasks = await open_tasks(stack, handle, 2)
    (designated,) = by_role(tasks, "lead")
    assert (designated.department, designated.region, designated.designated) == (
        "hrss",
        "440106",
        True,
    )
    await refused(
        act(
            stack,
            designated.task_id,
            "return",
            ReturnInput(actor="hrss.tianhe.wang", reason="仍不属本局", owner="samr"),
        ),
        "cannot be returned again",
    )
    actions = [e.action for e in events(stack, handle.id)]
    assert actions.count("returned") == 2 and "in_review" in actions and "designated" in actions
    with Session(stack.engine) as session:
        rows = queries.returns_by_office(session=session)
        assert {(r.department, r.returns, r.designated_to) for r in rows} == {
            ("hrss", 1, 1),
            ("samr", 1, 0),
        }


async def test_return_window_closes_after_two_working_days(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    handle = await open_case(clock_stack, intake())
    lead = by_role(await open_tasks(clock_stack, handle, 2), "lead")[0]
    assert lead.return_until is not None
    await clock_stack.env.sleep(lead.return_until - lead.dispatched_at + timedelta(minutes=1))
    await refused(
        act(
            clock_stack,
            lead.task_id,
            "return",
            ReturnInput(actor="hrss.tianhe.wang", reason="不属本局", owner="samr"),
        ),
        "return window",
    )


async def test_transfer_across_regions_starts_fresh_clocks(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
    await act(
        stack,
        lead.task_id,
        "transfer",
        TransferInput(
            actor="hrss.tianhe.wang", department="hrss", region="440113", reason="用工单位在番禺"
        ),
    )

    async def moved() -> str | None:
        s = await case_state(handle)
        found = [t.task_id for t in s.tasks if t.region == "440113"]
        return found[0] if found else None

    new = await task_query(stack, await eventually(moved))
    assert (new.department, new.role.value, new.status.value) == ("hrss", "lead", "dispatched")
    assert new.dispatched_at > lead.dispatched_at
    sign = next(c for c in new.clocks if c.name == "sign_for")
    assert sign.started_at == new.dispatched_at  # a fresh clock, not the old one's
    with Session(stack.engine) as session:
        case = queries.get_case(session=session, case_id=handle.id)
        assert case is not None and case.opened_at <= lead.dispatched_at  # case clock goes on
