"""The v1 histories (tests/workflows/histories/v1-*): a whole case's lifecycle, and a
platform case with an external hand-off, a liaison, returns, review and designation.

Kept to show what v1-* hold; recording again refuses to overwrite them (see
record_histories.py).
"""

from __future__ import annotations

from models.case import CallbackInput, DesignateInput, UrgeInput, WithdrawInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    LiaisonReplyInput,
    NoteInput,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
)
from tests.conftest import Stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-lifecycle-v1"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await act(
        stack,
        co.task_id,
        "return",
        ReturnInput(actor="union.tianhe.jin", reason="请市总工会协办", owner="union"),
    )
    (new_co,) = [t for t in await wait_tasks(handle, 2) if t.role.value == "co"]
    h = new_co.handlers[0]
    await act(stack, new_co.task_id, "accept", AcceptInput(actor=h))
    await act(
        stack,
        new_co.task_id,
        "complete",
        CompleteInput(actor=h, outcome="resolved", reply="已跟进"),
    )
    await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(stack, lead.task_id, "note", NoteInput(actor="hrss.tianhe.wang", text="约谈"))
    await act(
        stack,
        lead.task_id,
        "request_info",
        RequestInfoInput(actor="hrss.tianhe.wang", question="请提供工资流水"),
    )
    await act(
        stack,
        lead.task_id,
        "provide_info",
        ProvideInfoInput(actor="clerk.li", text="流水三页"),
    )
    await act(
        stack,
        lead.task_id,
        "extend",
        ExtendInput(actor="hrss.tianhe.wang", period="5wd", reason="调取平台数据"),
    )
    await act(stack, lead.task_id, "approve_extension", DecideExtensionInput(actor="sup.liu"))
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请加快办理"))
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="unsatisfied"))
    (reopened,) = await wait_tasks(handle, 1)
    await act(stack, reopened.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
    await act(
        stack,
        reopened.task_id,
        "complete",
        CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已全部支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v1-lifecycle")

    # A platform case: external hand-off, liaison, two returns, review, designation.
    penalty = await open_case(
        stack,
        intake(
            request_id="replay-dispatch-v1",
            platform="didi",
            category="platform_penalty",
            occupation="ride_hailing",
            summary="被平台罚款并封号",
            residence="440105",
            workplace="440105",
        ),
    )
    tasks = await wait_tasks(penalty, 4)
    liaison = next(t for t in tasks if t.role.value == "liaison")
    await act(
        stack,
        liaison.task_id,
        "liaison_reply",
        LiaisonReplyInput(actor="didi.liaison.luo", text="平台已复核"),
    )
    for t in tasks:
        if t.role.value == "co":
            await act(
                stack,
                t.task_id,
                "return",
                ReturnInput(actor=t.handlers[0], reason="不属本单位", owner="samr"),
            )
    await penalty.execute_update(
        "designate",
        DesignateInput(
            actor="sup.zhou",
            department="samr",
            region="440105",
            reason="由海珠区市场监管局主办",
        ),
    )
    await penalty.execute_update(
        "withdraw", WithdrawInput(actor="clerk.li", reason="劳动者已与平台和解")
    )
    await save(stack, penalty, "v1-dispatch")
