"""The v2 histories (tests/workflows/histories/v2-*): each branch patched after v1
(workflows/patches.py) taken at least once, so the replay test proves them.

- v2-drill: a drill on a platform case — its external hand-off and liaison stay on
  the drill's minutes (drill-special-tasks-stay-on-drill); a plan change skips the
  hand-off (set-plan-skips-external-handoffs); the callback carries a remark.
- v2-cohandle: the lead asks for another co-handler, taken in turn and acknowledged
  (cohandler-requests-in-main-loop, in the case and the lead task); the lead returns
  and the case is re-routed reading needs_designation (routing-needs-designation-field);
  a second return, review left overdue, its notice named after the review
  (review-notice-id-per-review); designation; reply; callback.
"""

from __future__ import annotations

from datetime import timedelta

from models.case import CallbackInput, DesignateInput, SetPlanInput
from models.tasks import (
    AcceptInput,
    AddCohandlerInput,
    CompleteInput,
    ExternalReplyInput,
    LiaisonReplyInput,
    ReturnInput,
    TaskBrief,
    TaskState,
)
from tests.conftest import Stack, eventually
from tests.workflows.helpers import (
    act,
    case_state,
    intake,
    open_case,
    opinions_in,
    wait_status,
    wait_tasks,
)
from tests.workflows.record_histories import save


async def finish(stack: Stack, task: TaskState | TaskBrief, reply: str) -> None:
    actor = task.handlers[0]
    await act(stack, task.task_id, "accept", AcceptInput(actor=actor))
    await act(
        stack, task.task_id, "complete", CompleteInput(actor=actor, outcome="resolved", reply=reply)
    )


async def drill(stack: Stack) -> None:
    handle = await open_case(
        stack,
        intake(
            request_id="replay-drill-v2",
            platform="didi",
            category="platform_penalty",
            occupation="ride_hailing",
            summary="演练：被平台罚款并封号",
            residence="440105",
            workplace="440105",
            sla_plan="drill",
        ),
    )
    tasks = await wait_tasks(handle, 4)
    await handle.execute_update(
        "set_plan", SetPlanInput(actor="sup.zhang", plan="standard", reason="演练转为正式办理")
    )
    for t in tasks:
        if t.role.value == "lead":  # the Beijing hotline's hand-off
            await act(
                stack,
                t.task_id,
                "external_reply",
                ExternalReplyInput(actor="clerk.li", text="北京市12345答复：平台已撤销罚款"),
            )
        elif t.role.value == "liaison":
            await act(
                stack,
                t.task_id,
                "liaison_reply",
                LiaisonReplyInput(actor="didi.liaison.luo", text="平台已复核"),
            )
        else:
            await finish(stack, t, "已核实")
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update(
        "callback", CallbackInput(actor="clerk.li", result="satisfied", remark="演练回访：满意")
    )
    await save(stack, handle, "v2-drill")


async def cohandle(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-cohandle-v2"))
    lead, union = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    actor = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))
    await act(
        stack,
        lead.task_id,
        "add_cohandler",
        AddCohandlerInput(actor=actor, department="samr", reason="涉及平台抽成规则"),
    )

    async def samr_co() -> TaskBrief | None:
        found = [t for t in (await case_state(handle)).tasks if t.department == "samr"]
        return found[0] if found else None

    await finish(stack, await eventually(samr_co), "市场监管意见：抽成规则违规")
    await finish(stack, union, "工会意见：支持劳动者")
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor=actor, reason="实为平台抽成规则争议", owner="samr"),
    )

    async def new_lead() -> TaskBrief | None:
        state = await case_state(handle)
        found = [
            t for t in state.tasks if t.role.value == "lead" and t.status.value == "dispatched"
        ]
        return found[0] if found else None

    relead = await eventually(new_lead)
    await act(
        stack,
        relead.task_id,
        "return",
        ReturnInput(actor=relead.handlers[0], reason="欠薪应由人社处理", owner="hrss"),
    )
    state = await wait_status(handle, "in_review")
    assert state.review_due is not None
    now = await stack.env.get_current_time()
    await stack.env.sleep(state.review_due - now + timedelta(hours=1))
    await handle.execute_update(
        "designate",
        DesignateInput(actor="sup.liu", department="hrss", region="440106", reason="欠薪属人社"),
    )
    await finish(stack, await eventually(new_lead), "已足额支付")
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v2-cohandle")


async def record(stack: Stack) -> None:
    await drill(stack)
    await cohandle(stack)
