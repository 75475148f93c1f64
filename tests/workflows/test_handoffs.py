"""External hand-offs to other regions' hotlines, platform liaison tasks (政企协同) and
rules reloaded mid-case — with a real SMTP server."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from models.case import SetPlanInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    ExternalReplyInput,
    LiaisonReplyInput,
    ReturnInput,
    TaskState,
)
from settings import Settings
from tests.conftest import Stack, eventually, running_stack
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
from tests.workflows.test_dispatch import by_role, finish, open_tasks, refused

PENALTY = {
    "category": "platform_penalty",
    "occupation": "ride_hailing",
    "summary": "被平台罚款200元并封号7天，电话13800138001，申诉无人处理",
    "residence": "440105",
    "workplace": "440105",
}


async def mails_to(smtp: SmtpServer, task: str, *wanted: str) -> dict[str, str]:
    """Event → recipient addresses of the mails about ``task`` once every ``wanted`` event is in.

    Waiting for named events, not a count: the relay sends each mail when it falls due, so
    which other mails (a warning at 75 %, say) are already in is a matter of timing.
    """

    async def check() -> dict[str, str] | None:
        found = {
            m["X-Appeals-Event"]: ",".join(sorted(a.addr_spec for a in m["To"].addresses))
            for m in smtp.inbox.messages()
            if m["X-Appeals-Task"] == task
        }
        return found if set(wanted) <= found.keys() else None

    return await eventually(check, timeout=30)


async def test_external_handoff_is_mailed_and_answered_by_a_clerk(
    stack: Stack, smtp: SmtpServer
) -> None:
    handle = await open_case(stack, intake(platform="didi", **PENALTY))
    tasks = await open_tasks(stack, handle, 4)
    (lead,) = by_role(tasks, "lead")
    assert (lead.department, lead.region, lead.office_name) == (
        "external_hotline",
        "110108",
        "北京市12345政务服务便民热线",
    )
    assert await mails_to(smtp, lead.task_id, "handoff") == {
        "handoff": "12345.beijing@appeals.example"
    }
    mail = next(m for m in smtp.inbox.messages() if m["X-Appeals-Task"] == lead.task_id)
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "封号7天" in body and "13800138001" not in body and "王小明" not in body
    # The other region's hotline cannot run our CLI, and reads the summary once.
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for text in (body, html):
        assert "appeals show" not in text and "登录诉求办理系统" not in text
        assert "函复我方12345热线" in text
        assert text.count("封号7天") == 1
    await refused(
        act(
            stack,
            lead.task_id,
            "external_reply",
            ExternalReplyInput(actor="hrss.haizhu.wu", text="北京方面已受理"),
        ),
        "not an intake clerk",
    )
    await act(
        stack,
        lead.task_id,
        "external_reply",
        ExternalReplyInput(actor="clerk.li", text="北京市12345答复：平台已撤销罚款"),
    )
    for helper in [*by_role(tasks, "co")]:
        await finish(stack, helper, "已向驾驶员解释")
    (liaison,) = by_role(tasks, "liaison")
    await act(
        stack,
        liaison.task_id,
        "liaison_reply",
        LiaisonReplyInput(actor="didi.liaison.luo", text="平台已复核，罚款撤销"),
    )
    state = await wait_status(handle, "awaiting_callback")
    assert state.reply == "北京市12345答复：平台已撤销罚款"


async def test_unanswered_handoff_escalates_to_social_work(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    handle = await open_case(clock_stack, intake(platform="didi", **PENALTY))
    (lead,) = by_role(await open_tasks(clock_stack, handle, 4), "lead")
    await clock_stack.env.sleep(timedelta(days=20))
    got = await mails_to(smtp, lead.task_id, "handoff", "warning-50", "rung-1", "rung-2")
    # The hotline is warned; its breach goes to 社会工作部 (rung 1), then leadership.
    assert got["handoff"] == "12345.beijing@appeals.example"
    assert got["warning-50"] == "12345.beijing@appeals.example"
    assert got["rung-1"] == "social_work.city@appeals.example"
    assert got["rung-2"] == "leadership@appeals.example"


async def test_a_new_plan_leaves_the_handoff_on_its_own_ladder(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    handle = await open_case(clock_stack, intake(platform="didi", **PENALTY))
    (lead,) = by_role(await open_tasks(clock_stack, handle, 4), "lead")
    await handle.execute_update(
        "set_plan", SetPlanInput(actor="sup.zhang", plan="urgent", reason="劳动者生活困难")
    )
    await clock_stack.env.sleep(timedelta(days=20))
    got = await mails_to(smtp, lead.task_id, "rung-1", "rung-2")
    # Still the hand-off's ladder: 社会工作部 hears first, never the Beijing hotline.
    assert got["rung-1"] == "social_work.city@appeals.example"
    assert got["rung-2"] == "leadership@appeals.example"
    handoff = await task_query(clock_stack, lead.task_id)
    assert [(c.name, c.spec.period) for c in handoff.clocks] == [("reply", "5wd")]
    assert "plan_changed" not in [
        e.action for e in events(clock_stack, handle.id) if e.task_id == lead.task_id
    ]


async def test_platform_answers_before_the_lead_replies(stack: Stack) -> None:
    handle = await open_case(stack, intake(platform="yangcheng_run", **PENALTY))
    tasks = await open_tasks(stack, handle, 4)
    (lead,), (liaison,) = by_role(tasks, "lead"), by_role(tasks, "liaison")
    assert (liaison.department, liaison.handlers) == ("platform", ["yangcheng_run.liaison.tang"])
    await refused(
        act(
            stack,
            liaison.task_id,
            "liaison_reply",
            LiaisonReplyInput(actor="didi.liaison.luo", text="不是我们的"),
        ),
        "not a handler",
    )
    for helper in by_role(tasks, "co"):
        await finish(stack, helper, "已核实用工情况")
    await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
    await refused(
        act(
            stack,
            lead.task_id,
            "complete",
            CompleteInput(actor=lead.handlers[0], outcome="resolved", reply="已处理"),
        ),
        "羊城跑腿",
    )
    await act(
        stack,
        liaison.task_id,
        "liaison_reply",
        LiaisonReplyInput(actor="yangcheng_run.liaison.tang", text="已撤销罚款并解除封号"),
    )

    async def answered() -> TaskState | None:
        s = await task_query(stack, lead.task_id)
        return s if not s.waiting_for else None

    state = await eventually(answered)
    assert ("羊城跑腿（虚构示例）（平台联络）", "已撤销罚款并解除封号") in [
        (o.office_name, o.text) for o in state.opinions
    ]
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=lead.handlers[0], outcome="resolved", reply="平台已纠正"),
    )
    await wait_status(handle, "awaiting_callback")


async def test_a_late_platform_escalates_to_the_lead_office(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    handle = await open_case(clock_stack, intake(platform="yangcheng_run", **PENALTY))
    tasks = await open_tasks(clock_stack, handle, 4)
    (lead,), (liaison,) = by_role(tasks, "lead"), by_role(tasks, "liaison")
    await clock_stack.env.sleep(timedelta(days=10))
    got = await mails_to(smtp, liaison.task_id, "warning-50", "rung-1")
    lead_mailbox = f"{lead.department}.tianhe@appeals.example"
    assert got["warning-50"] == "liaison@yangcheng-run.example"
    assert got["rung-1"] == lead_mailbox  # the lead department hears, never the worker


async def test_rules_reloaded_mid_case_keep_decided_routing(
    env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(settings.rules_dir, rules)
    reloadable = settings.model_copy(update={"rules_dir": rules})
    async with running_stack(env, reloadable) as stack:
        handle = await open_case(stack, intake())
        lead = by_role(await open_tasks(stack, handle, 2), "lead")[0]
        first = (await case_state(handle)).routing[0].rules_version
        # An administrator edits the rules while the case is open.
        text = (rules / "rules.yaml").read_text()
        (rules / "rules.yaml").write_text(text + "\n# 2026-11 修订：新增说明\n")
        await act(
            stack,
            lead.task_id,
            "return",
            ReturnInput(actor="hrss.tianhe.wang", reason="应由市场监管处理", owner="samr"),
        )
        await open_tasks(stack, handle, 2)
        versions = [d.rules_version for d in (await case_state(handle)).routing]
        assert versions[0] == first and len(versions) == 2 and versions[1] != first


async def test_a_drill_stays_in_minutes_for_handoffs_and_liaisons(stack: Stack) -> None:
    handle = await open_case(stack, intake(platform="didi", sla_plan="drill", **PENALTY))
    tasks = await open_tasks(stack, handle, 4)
    periods = {t.role.value: {c.name: c.spec.period for c in t.clocks} for t in tasks}
    assert periods["lead"] == {"sign_for": "1m", "reply": "3m"}  # the external hand-off
    assert periods["liaison"] == {"reply": "3m"}
