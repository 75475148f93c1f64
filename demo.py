"""`appeals demo`: a realistic morning at the 12345 desk, on the embedded stack.

Opens a rider's wage arrears, a driver's platform-penalty appeal, a courier's
parking problem and a grievance no rule claims; walks them through handling
(sign-for, notes, a return, a co-handler, an unsatisfied callback that reopens
the lead task); prints each case's timeline and the overdue list.

Everyone in it acts as themselves: each person logs in through the API with the dev
password (the embedded stack gives it to every sample account) and every step goes
through the same front door as the CLI and the web screens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
from rich.rule import Rule

from commands.api import ApiError, AsyncApi
from commands.common import UserError, console
from commands.reads import print_case, returns_of
from commands.views import print_overdue
from devstack import api_server, embedded_stack, port_open
from settings import Settings
from worker import run_worker

WAIT_SECONDS = 60
CLERK = "clerk.li"  # the city's intake clerk: sees every case
SUPERVISOR = "sup.zhang"  # the city's 社会工作部 supervisor


def _answers(url: str) -> bool:
    parsed = httpx.URL(url)
    return port_open(parsed.host, parsed.port or 80)


@contextlib.asynccontextmanager
async def stack_for_demo(s: Settings) -> AsyncIterator[tuple[Settings, str]]:
    """Use a running `appeals dev` (its API); else start the embedded stack, the worker
    and the API on this loop, and stop them after."""
    host, _, port = s.address.rpartition(":")
    if _answers(s.api_base) and (not s.embedded or port_open(host, int(port))):
        console.print(f"using the running stack at {s.address} (API {s.api_base})")
        yield s, s.api_base
        return
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        live = s
        if s.embedded:
            live = await stack.enter_async_context(embedded_stack(s))
            console.print(f"started the embedded stack at {live.address} (UI {live.ui_address})")
        # else a cluster was named: we cannot know whether a worker serves it, so run one.
        url = await stack.enter_async_context(api_server(live))
        console.print(f"API/web at {url}")
        worker = asyncio.create_task(run_worker(live, stop))
        try:
            yield live, url
        finally:
            stop.set()
            await worker


class Desk:
    """The demo's hands: each person logs in and acts through the API."""

    def __init__(self, s: Settings, base: str) -> None:
        self.s = s
        self.base = base
        self.run_id = time.strftime("%Y%m%d%H%M%S")
        self._people: dict[str, AsyncApi] = {}
        self._handlers: dict[str, str] = {}

    async def as_(self, staff_id: str) -> AsyncApi:
        """``staff_id``'s client, logged in with the dev password on first use."""
        if staff_id not in self._people:
            anonymous = AsyncApi(self.base)
            try:
                token = await anonymous.login(staff_id, self.s.dev_password.get_secret_value())
            finally:
                await anonymous.aclose()
            self._people[staff_id] = AsyncApi(self.base, token)
        return self._people[staff_id]

    async def close(self) -> None:
        for c in self._people.values():
            await c.aclose()

    async def case(self, case_id: str, *, as_: str = CLERK) -> dict[str, Any]:
        data: dict[str, Any] = await (await self.as_(as_)).get(f"/cases/{quote(case_id)}")
        return data

    async def wait_for(self, what: str, check: Callable[[], Awaitable[Any]]) -> Any:
        # The read model is written by the worker a moment after each step; the
        # demo polls it, with a limit, the way a supervisor's screen would refresh.
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.2)
        raise UserError(f"demo: timed out waiting for {what}; is the worker running?")

    async def handler_of(self, office: str) -> str:
        if not self._handlers:
            staff = await (await self.as_(CLERK)).get("/staff", role="handler")
            for m in staff:
                self._handlers.setdefault(m["office"], m["id"])
        return self._handlers[office]

    async def open(self, key: str, **fields: Any) -> str:
        fields["request_id"] = f"demo-{self.run_id}-{key}"
        # A demo run played again on the same data directory is a new scenario, not the
        # same worker calling again: say so, or the earlier run's cases match as repeats.
        fields["not_repeat"] = True
        opened = await (await self.as_(CLERK)).post("/cases", fields)
        case_id = str(opened["case_id"])
        console.print(f"opened [bold]{case_id}[/] ({fields['category']}) as {CLERK}")
        return case_id

    async def open_task(
        self, case_id: str, role: str, after: set[str] | None = None
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            for t in (await self.case(case_id))["tasks"]:
                fresh = t["id"] not in (after or ())
                if t["role"] == role and t["status"] == "dispatched" and fresh:
                    return dict(t)
            return None

        found: dict[str, Any] = await self.wait_for(f"a {role} task of {case_id}", check)
        return found

    async def task_action(
        self, actor: str, task: dict[str, Any], verb: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        path = f"/tasks/{quote(task['id'])}/{verb}"
        result: dict[str, Any] = await (await self.as_(actor)).post(path, body or {})
        return result

    async def act(
        self, task: dict[str, Any], verb: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The task's office's handler acts on it."""
        handler = await self.handler_of(task["office"])
        result = await self.task_action(handler, task, verb, body)
        console.print(
            f"  {handler} {verb} {task['id']} ({task['office_name']}) → {result['status']}"
        )
        return result

    async def handle(
        self,
        task: dict[str, Any],
        outcome: str,
        reply: str,
        note: str | None = None,
        *,
        clocks: bool = False,
    ) -> None:
        await self.act(task, "accept")
        if note:
            await self.act(task, "note", {"text": note})
        if clocks:
            await self.pause_and_extend(task)
        await self.complete(task, outcome, reply)

    async def complete(self, task: dict[str, Any], outcome: str, reply: str) -> None:
        """The lead replies only once every co-handler's opinion has reached it: until
        then the workflow refuses (409, "waiting for …"), and the handler tries again."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                await self.act(task, "complete", {"outcome": outcome, "reply": reply})
                return
            except ApiError as e:
                if e.status != 409 or "waiting for" not in str(e):
                    raise
                if time.monotonic() > deadline:
                    raise UserError(f"demo: {task['id']} still waits for opinions") from e
            await asyncio.sleep(0.2)

    async def pause_and_extend(self, task: dict[str, Any]) -> None:
        """Ask the worker for material (the reply clock pauses), record it (resumes),
        then ask for and get five more working days."""
        await self.act(task, "request-info", {"question": "请补充工资流水和考勤截图"})
        await self.task_action(CLERK, task, "provide-info", {"text": "劳动者已提交工资流水3页"})
        console.print(f"  {CLERK} provide-info {task['id']} → clocks resume")
        await self.act(task, "extend", {"period": "5wd", "reason": "需向平台调取派单与结算数据"})
        await self.task_action("sup.liu", task, "approve-extension", {"reason": "同意延期"})
        console.print(f"  sup.liu approve-extension {task['id']} → reply clock +5wd")

    async def answer(self, task: dict[str, Any], verb: str, actor: str, text: str) -> None:
        """An answer from outside: another region's hotline (recorded by a clerk) or a
        platform's liaison."""
        result = await self.task_action(actor, task, verb, {"text": text})
        console.print(f"  {actor} {verb} {task['id']} ({task['office_name']}) → {result['status']}")

    async def callback(self, case_id: str, result: str) -> None:
        async def replied() -> bool:
            return bool((await self.case(case_id))["status"] == "awaiting_callback")

        await self.wait_for(f"the reply of {case_id}", replied)
        state = await (await self.as_(CLERK)).post(
            f"/cases/{quote(case_id)}/callback", {"result": result}
        )
        console.print(f"  {CLERK} callback {case_id}: {result} → {state['status']}")


async def scenario(desk: Desk) -> list[str]:
    console.print(Rule("1. a rider's wage arrears (拖欠劳动报酬)"))
    wage = await desk.open(
        "wage",
        name="王小明",
        phone="13800138001",
        occupation="rider",
        platform="meituan",
        category="wage_arrears",
        summary="在天河区配送站工作三个月，站点拖欠两个月工资共8400元，多次催要未果。",
        residence="440111",
        workplace="440106",
        channel="hotline",
    )
    lead = await desk.open_task(wage, "lead")
    co = await desk.open_task(wage, "co")
    # A handler of another office cannot touch this task: the API refuses it (403).
    try:
        await desk.task_action("samr.city.jiang", lead, "accept")
    except ApiError as e:
        console.print(f"  [yellow]rejected as expected:[/] samr.city.jiang accept: {e}")
    # The co-handler's opinion (协办意见) comes first: the lead replies once it is in.
    await desk.handle(co, "resolved", "工会已指导当事人留存工资凭证，并跟进支付情况。")
    await desk.handle(
        lead,
        "resolved",
        "经劳动监察约谈，配送站已于三日内足额支付拖欠工资8400元。",
        note="已联系配送站负责人，约定周三到劳动监察大队接受询问。",
        clocks=True,
    )
    await desk.callback(wage, "satisfied")

    console.print(Rule("2. a ride-hailing driver's platform-penalty appeal (平台罚款与封号)"))
    penalty = await desk.open(
        "penalty",
        name="李建国",
        phone="13900139002",
        occupation="ride_hailing",
        platform="didi",
        category="platform_penalty",
        summary="因乘客投诉被平台罚款200元并封号7天，申诉无人处理，认为处罚规则不透明。",
        residence="440105",
        workplace="440105",
        channel="online",
    )
    # didi is registered in Beijing: 市场监管 there owns it, so the lead is a hand-off
    # to Beijing's 12345 hotline (by e-mail); 人社 and 工会 here co-handle; didi's
    # liaison answers for the platform (政企协同).
    lead = await desk.open_task(penalty, "lead")
    cos = [await desk.open_task(penalty, "co")]
    cos.append(await desk.open_task(penalty, "co", after={cos[0]["id"]}))
    liaison = await desk.open_task(penalty, "liaison")
    for t in cos:
        await desk.handle(t, "resolved", "已就平台规则向驾驶员作出解释并提供法律咨询。")
    await desk.answer(
        liaison,
        "liaison-reply",
        "didi.liaison.luo",
        "平台已复核：乘客投诉不实，罚款撤销，封号解除。",
    )
    await desk.answer(
        lead,
        "external-reply",
        CLERK,
        "北京市12345答复：海淀区市场监管局已约谈平台，罚款撤销，封号期缩短为1天。",
    )
    await desk.callback(penalty, "unsatisfied")
    reopened = await desk.open_task(penalty, "lead", after={lead["id"]})
    await desk.answer(
        reopened, "external-reply", CLERK, "北京市12345再次答复：封号记录已消除，罚款已退回。"
    )
    await desk.callback(penalty, "satisfied")

    console.print(Rule("3. a courier's parking problem (停车与通行)"))
    parking = await desk.open(
        "parking",
        name="张伟",
        phone="020-87654321",
        occupation="courier",
        platform="sf_express",
        category="parking_access",
        summary="猎德片区小区禁止快递三轮车进入，路边临时停靠也被贴罚单，无法完成派件。",
        residence="440106",
        workplace="440106",
        incident="440106013",
        channel="walk_in",
    )
    lead = await desk.open_task(parking, "lead")
    co = await desk.open_task(parking, "co")
    await desk.act(
        lead,
        "return",
        {"reason": "快递车路边停靠被贴罚单，属交警执法事项，请改派。", "owner": "police"},
    )
    relead = await desk.open_task(parking, "lead", after={lead["id"]})
    await desk.handle(co, "resolved", "住建部门已督促物业落实快递员通行登记。")
    await desk.handle(
        relead, "resolved", "交警已规范快递车临时停靠，撤销不当罚单，并协调物业设置停靠点。"
    )
    await desk.callback(parking, "unreachable")

    console.print(Rule("4. a grievance no rule claims (兜底: 社会工作部)"))
    other = await desk.open(
        "other",
        name="赵六",
        phone="13700137004",
        occupation="truck_driver",
        category="other",
        summary="长途货运途中车辆故障滞留，需要临时救助和信息咨询。",
        residence="440113",
        workplace="440113",
        channel="union_station",
        urgent=True,
    )
    await desk.open_task(other, "lead")
    state = await (await desk.as_(SUPERVISOR)).post(
        f"/cases/{quote(other)}/urge", {"text": "滞留司机生活困难，请今日内联系并反馈"}
    )
    console.print(f"  {SUPERVISOR} urge {other} → priority {state['priority']}")

    async def urge_mailed() -> dict[str, Any] | None:
        sent = [
            m
            # A case's e-mail list is for those who may read mail: the supervisor.
            for m in (await desk.case(other, as_=SUPERVISOR))["mail"]
            if m["event"] == "urge" and m["status"] == "sent"
        ]
        return sent[0] if sent else None

    mail = await desk.wait_for("the 督办 e-mail", urge_mailed)
    console.print(f"  督办 e-mail sent to {mail['to']}: {mail['subject']}", markup=False)
    return [wage, penalty, parking, other]


async def run_demo(s: Settings) -> None:
    async with stack_for_demo(s) as (live, url):
        desk = Desk(live, url)
        try:
            cases = await scenario(desk)
            for case_id in cases:
                console.print(Rule(f"case {case_id}"))
                data = await desk.case(case_id)
                data["returns"] = returns_of(data)
                print_case(data)
            supervisor = await desk.as_(SUPERVISOR)
            console.print(Rule("overdue"))
            print_overdue(await supervisor.get("/supervision/overdue"))
            console.print(Rule("due within 1 working day"))
            print_overdue(await supervisor.get("/supervision/overdue", within="1wd"), soon=True)
        finally:
            await desk.close()
        mail = sorted((live.mail_dir).glob("*.eml"))
        console.print(f"{len(mail)} e-mail(s) in the SMTP sink at {live.mail_dir}")
