"""`appeals demo`: a realistic morning at the 12345 desk, on the embedded stack.

Opens a rider's wage arrears, a driver's platform-penalty appeal, a courier's
parking problem and a grievance no rule claims; walks them through handling
(sign-for, notes, a return, a co-handler, an unsatisfied callback that reopens
the lead task); prints each case's timeline and the overdue list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from rich.rule import Rule

from commands.cases import load_rules, open_case
from commands.common import UserError, client, console, db_session, update
from commands.reads import overdue_rows, show_case
from commands.views import print_overdue
from db import queries
from devstack import embedded_stack, port_open
from models.case import CallbackInput, CallbackResult, CaseState, UrgeInput
from models.common import Channel, Occupation
from models.intake import IntakeForm
from models.tasks import (
    AcceptInput,
    ActionResult,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ExternalReplyInput,
    LiaisonReplyInput,
    NoteInput,
    Outcome,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
)
from routing_rules import RuleSet
from settings import Settings
from worker import run_worker
from workflows.department_task import DepartmentTaskWorkflow

WAIT_SECONDS = 60


@contextlib.asynccontextmanager
async def stack_for_demo(s: Settings) -> AsyncIterator[Settings]:
    """Use a running `appeals dev`; else start the embedded stack and stop it after."""
    host, _, port = s.address.rpartition(":")
    if s.embedded and port_open(host, int(port)):
        console.print(f"using the running stack at {s.address}")
        yield s
        return
    stop = asyncio.Event()
    if s.embedded:
        async with embedded_stack(s) as live:
            console.print(f"started the embedded stack at {live.address} (UI {live.ui_address})")
            worker = asyncio.create_task(run_worker(live, stop))
            try:
                yield live
            finally:
                stop.set()
                await worker
    else:
        # A cluster was named: we cannot know whether a worker serves it, so run one.
        worker = asyncio.create_task(run_worker(s, stop))
        try:
            yield s
        finally:
            stop.set()
            await worker


class Desk:
    """The demo's hands: opens cases and acts as the right people, reading the read model."""

    def __init__(self, s: Settings, rules: RuleSet) -> None:
        self.s = s
        self.rules = rules
        self.run_id = time.strftime("%Y%m%d%H%M%S")

    async def wait_for(self, what: str, check: Callable[[Any], Any]) -> Any:
        # The read model is written by the worker a moment after each step; the
        # demo polls it, with a limit, the way a supervisor's screen would refresh.
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            with db_session(self.s) as session:
                found = check(session)
            if found:
                return found
            await asyncio.sleep(0.2)
        raise UserError(f"demo: timed out waiting for {what}; is the worker running?")

    async def open(self, key: str, **fields: Any) -> str:
        form = IntakeForm(request_id=f"demo-{self.run_id}-{key}", **fields)
        case_id = await open_case(self.s, form, "clerk.li")
        console.print(f"opened [bold]{case_id}[/] ({form.category})")
        return case_id

    async def open_task(self, case_id: str, role: str, after: set[str] | None = None) -> Any:
        def check(session: Any) -> Any:
            for t in queries.case_tasks(session=session, case_id=case_id):
                if t.role == role and t.status == "dispatched" and t.task_id not in (after or ()):
                    return t
            return None

        return await self.wait_for(f"a {role} task of {case_id}", check)

    async def act(self, task: Any, name: str, arg_factory: Callable[[str], Any]) -> ActionResult:
        handler = self.rules.handlers_of(task.office_id)[0]
        c = await client(self.s)
        result: ActionResult = await update(
            c, task.task_id, "task", name, arg_factory(handler), ActionResult
        )
        console.print(
            f"  {handler} {name} {task.task_id} ({task.office_name}) → {result.status.value}"
        )
        return result

    async def handle(
        self,
        task: Any,
        outcome: Outcome,
        reply: str,
        note: str | None = None,
        *,
        clocks: bool = False,
    ) -> None:
        await self.act(task, "accept", lambda h: AcceptInput(actor=h))
        if note:
            await self.act(task, "note", lambda h: NoteInput(actor=h, text=note))
        if clocks:
            await self.pause_and_extend(task)
        if task.role == "lead":
            await self.opinions_in(task)
        await self.act(
            task, "complete", lambda h: CompleteInput(actor=h, outcome=outcome, reply=reply)
        )

    async def opinions_in(self, task: Any) -> None:
        """The lead replies only once every co-handler's opinion has reached it."""
        c = await client(self.s)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            state = await c.get_workflow_handle(task.task_id).query(DepartmentTaskWorkflow.state)
            if not state.waiting_for:
                return
            await asyncio.sleep(0.2)
        raise UserError(f"demo: {task.task_id} still waits for opinions")

    async def pause_and_extend(self, task: Any) -> None:
        """Ask the worker for material (the reply clock pauses), record it (resumes),
        then ask for and get five more working days."""
        await self.act(
            task,
            "request_info",
            lambda h: RequestInfoInput(actor=h, question="请补充工资流水和考勤截图"),
        )
        c = await client(self.s)
        await update(
            c,
            task.task_id,
            "task",
            "provide_info",
            ProvideInfoInput(actor="clerk.li", text="劳动者已提交工资流水3页"),
            ActionResult,
        )
        console.print(f"  clerk.li provide_info {task.task_id} → clocks resume")
        await self.act(
            task,
            "extend",
            lambda h: ExtendInput(actor=h, period="5wd", reason="需向平台调取派单与结算数据"),
        )
        await update(
            c,
            task.task_id,
            "task",
            "approve_extension",
            DecideExtensionInput(actor="sup.liu", reason="同意延期"),
            ActionResult,
        )
        console.print(f"  sup.liu approve_extension {task.task_id} → reply clock +5wd")

    async def answer(self, task: Any, name: str, actor: str, text: str) -> None:
        """An answer from outside: another region's hotline (recorded by a clerk) or a
        platform's liaison."""
        arg: Any = (ExternalReplyInput if name == "external_reply" else LiaisonReplyInput)(
            actor=actor, text=text
        )
        c = await client(self.s)
        result = await update(c, task.task_id, "task", name, arg, ActionResult)
        console.print(
            f"  {actor} {name} {task.task_id} ({task.office_name}) → {result.status.value}"
        )

    async def callback(self, case_id: str, result: CallbackResult) -> None:
        def replied(session: Any) -> Any:
            case = queries.get_case(session=session, case_id=case_id)
            return case if case and case.status == "awaiting_callback" else None

        await self.wait_for(f"the reply of {case_id}", replied)
        c = await client(self.s)
        state = await update(
            c,
            case_id,
            "case",
            "callback",
            CallbackInput(actor="clerk.li", result=result),
            CaseState,
        )
        console.print(f"  clerk.li callback {case_id}: {result.value} → {state.status.value}")


async def scenario(s: Settings) -> list[str]:
    desk = Desk(s, load_rules(s))
    console.print(Rule("1. a rider's wage arrears (拖欠劳动报酬)"))
    wage = await desk.open(
        "wage",
        name="王小明",
        phone="13800138001",
        occupation=Occupation.rider,
        platform="meituan",
        category="wage_arrears",
        summary="在天河区配送站工作三个月，站点拖欠两个月工资共8400元，多次催要未果。",
        residence="440111",
        workplace="440106",
        channel=Channel.hotline,
    )
    lead = await desk.open_task(wage, "lead")
    co = await desk.open_task(wage, "co")
    # A handler of another office cannot touch this task: the validator says so.
    try:
        c = await client(s)
        await update(
            c, lead.task_id, "task", "accept", AcceptInput(actor="samr.city.jiang"), ActionResult
        )
    except UserError as e:
        console.print(f"  [yellow]rejected as expected:[/] {e}")
    # The co-handler's opinion (协办意见) comes first: the lead replies once it is in.
    await desk.handle(co, Outcome.resolved, "工会已指导当事人留存工资凭证，并跟进支付情况。")
    await desk.handle(
        lead,
        Outcome.resolved,
        "经劳动监察约谈，配送站已于三日内足额支付拖欠工资8400元。",
        note="已联系配送站负责人，约定周三到劳动监察大队接受询问。",
        clocks=True,
    )
    await desk.callback(wage, CallbackResult.satisfied)

    console.print(Rule("2. a ride-hailing driver's platform-penalty appeal (平台罚款与封号)"))
    penalty = await desk.open(
        "penalty",
        name="李建国",
        phone="13900139002",
        occupation=Occupation.ride_hailing,
        platform="didi",
        category="platform_penalty",
        summary="因乘客投诉被平台罚款200元并封号7天，申诉无人处理，认为处罚规则不透明。",
        residence="440105",
        workplace="440105",
        channel=Channel.online,
    )
    # didi is registered in Beijing: 市场监管 there owns it, so the lead is a hand-off
    # to Beijing's 12345 hotline (by e-mail); 人社 and 工会 here co-handle; didi's
    # liaison answers for the platform (政企协同).
    lead = await desk.open_task(penalty, "lead")
    cos = [await desk.open_task(penalty, "co")]
    cos.append(await desk.open_task(penalty, "co", after={cos[0].task_id}))
    liaison = await desk.open_task(penalty, "liaison")
    for t in cos:
        await desk.handle(t, Outcome.resolved, "已就平台规则向驾驶员作出解释并提供法律咨询。")
    await desk.answer(
        liaison,
        "liaison_reply",
        "didi.liaison.luo",
        "平台已复核：乘客投诉不实，罚款撤销，封号解除。",
    )
    await desk.answer(
        lead,
        "external_reply",
        "clerk.li",
        "北京市12345答复：海淀区市场监管局已约谈平台，罚款撤销，封号期缩短为1天。",
    )
    await desk.callback(penalty, CallbackResult.unsatisfied)
    reopened = await desk.open_task(penalty, "lead", after={lead.task_id})
    await desk.answer(
        reopened, "external_reply", "clerk.li", "北京市12345再次答复：封号记录已消除，罚款已退回。"
    )
    await desk.callback(penalty, CallbackResult.satisfied)

    console.print(Rule("3. a courier's parking problem (停车与通行)"))
    parking = await desk.open(
        "parking",
        name="张伟",
        phone="020-87654321",
        occupation=Occupation.courier,
        platform="sf_express",
        category="parking_access",
        summary="猎德片区小区禁止快递三轮车进入，路边临时停靠也被贴罚单，无法完成派件。",
        residence="440106",
        workplace="440106",
        incident="440106012",
        channel=Channel.walk_in,
    )
    lead = await desk.open_task(parking, "lead")
    co = await desk.open_task(parking, "co")
    await desk.act(
        lead,
        "return",
        lambda h: ReturnInput(
            actor=h, reason="快递车路边停靠被贴罚单，属交警执法事项，请改派。", owner="police"
        ),
    )
    relead = await desk.open_task(parking, "lead", after={lead.task_id})
    await desk.handle(co, Outcome.resolved, "住建部门已督促物业落实快递员通行登记。")
    await desk.handle(
        relead, Outcome.resolved, "交警已规范快递车临时停靠，撤销不当罚单，并协调物业设置停靠点。"
    )
    await desk.callback(parking, CallbackResult.unreachable)

    console.print(Rule("4. a grievance no rule claims (兜底: 社会工作部)"))
    other = await desk.open(
        "other",
        name="赵六",
        phone="13700137004",
        occupation=Occupation.truck_driver,
        category="other",
        summary="长途货运途中车辆故障滞留，需要临时救助和信息咨询。",
        residence="440113",
        workplace="440113",
        channel=Channel.union_station,
        urgent=True,
    )
    await desk.open_task(other, "lead")
    c = await client(s)
    state = await update(
        c,
        other,
        "case",
        "urge",
        UrgeInput(actor="sup.zhang", text="滞留司机生活困难，请今日内联系并反馈"),
        CaseState,
    )
    console.print(f"  sup.zhang urge {other} → priority {state.priority}")

    def urge_mailed(session: Any) -> Any:
        sent = [
            r
            for r in queries.outbox_for_case(session=session, case_id=other)
            if r.event == "urge" and r.status == "sent"
        ]
        return sent[0] if sent else None

    row = await desk.wait_for("the 督办 e-mail", urge_mailed)
    console.print(f"  督办 e-mail sent to {row.recipients}: {row.subject}", markup=False)
    return [wage, penalty, parking, other]


async def run_demo(s: Settings) -> None:
    async with stack_for_demo(s) as live:
        cases = await scenario(live)
        for case_id in cases:
            console.print(Rule(f"case {case_id}"))
            show_case(case_id, live, as_json=False, reveal=False)
        console.print(Rule("overdue"))
        print_overdue(overdue_rows(live))
        console.print(Rule("due within 1 working day"))
        print_overdue(overdue_rows(live, within="1wd"), soon=True)
        mail = sorted((live.mail_dir).glob("*.eml"))
        console.print(f"{len(mail)} e-mail(s) in the SMTP sink at {live.mail_dir}")
