"""The load: intakes a clerk opens and the actions handlers take, all through the HTTP
API (the path of `appeals open`, the web form and every CLI action), each call noted
with the faults in force while it ran, its status, its time and its refusal's words.

A refused open is submitted again with the same request id, as a clerk presses the
button again; the request id makes that the same case, never a second one."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.escalation import DISTRICTS, INTAKES
from models.case import case_id_for
from models.common import Channel
from models.intake import IntakeForm
from models.routing import RoutingFacts
from routing_rules import RuleSet
from services.cases import check_against_directory

API = "/api/v1"
CLERK = "clerk.li"
DRILL = "drill"
HANG = 60.0  # seconds: an answer later than this is a hang, whatever it says
HTTP_TIMEOUT = httpx.Timeout(90.0, connect=5.0)  # the CLI's (commands/api.py)
RETRY_PAUSE = (1.0, 3.0)  # seconds a clerk waits before submitting a refused form again
# Departments a returning office names as the owner (one that is not its own).
OWNERS = ("social_work", "union", "samr", "hrss")


class Faults:
    """The faults in force now (``worker-killed``, ``temporal-down``, ``smtp-down``,
    ``db-down``), so that each call says what it met."""

    def __init__(self) -> None:
        self._active: set[str] = set()

    def now(self) -> frozenset[str]:
        return frozenset(self._active)

    def begin(self, name: str) -> None:
        self._active.add(name)

    def end(self, name: str) -> None:
        self._active.discard(name)


@dataclass(frozen=True)
class Call:
    what: str  # open, login, case, accept, note, complete, return, cli-open, …
    faults: frozenset[str]  # in force at any moment of the call
    status: int  # the HTTP status, or the CLI's exit status (0: no answer from the API)
    seconds: float
    detail: str  # the refusal's one line (the API's detail, the CLI's stderr)
    cli: bool = False
    started: float = 0.0  # time.monotonic() when it was sent

    @property
    def accepted(self) -> bool:
        return self.status == 0 if self.cli else 200 <= self.status < 300

    def problem(self) -> str | None:
        """Why this call was not "accepted or refused cleanly", or None."""
        if self.seconds > HANG:
            return f"{self.what}: answered after {self.seconds:.0f} s ({self.status})"
        if "Traceback" in self.detail:
            return f"{self.what}: a traceback"
        if self.cli:
            if self.status != 0 and (not self.detail.strip() or "\n" in self.detail.strip()):
                return f"{self.what}: exit {self.status} without one line: {self.detail!r}"
            return None
        if self.status == 0:
            return f"{self.what}: no answer ({self.detail})"
        if self.status >= 500 and self.status != 503:
            return f"{self.what}: {self.status} {self.detail}"
        if not self.accepted and (not self.detail.strip() or "\n" in self.detail):
            return f"{self.what}: a refusal ({self.status}) that is not one line: {self.detail!r}"
        return None


@dataclass(frozen=True)
class Intake:
    body: dict[str, Any]  # what the clerk's form posts
    request_id: str
    case_id: str
    drill: bool  # on the drill plan (minute clocks), urgent
    tasks: int  # the tasks the rules start for it
    act: str | None  # what its lead handler does: None, "complete" or "return"


def plan_intakes(
    rules: RuleSet, rng: random.Random, prefix: str, count: int, *, drill: bool, act_share: float
) -> list[Intake]:
    """``count`` realistic intakes of the sample directory, each a different worker
    (its own phone, so that none repeats another); ``act_share`` of them get handled."""
    out = []
    for i in range(count):
        t = INTAKES[rng.randrange(len(INTAKES))]
        residence = rng.choice(DISTRICTS)
        workplace = residence if rng.random() < 0.5 else rng.choice(DISTRICTS)
        request_id = f"{prefix}{i:05d}"
        body: dict[str, Any] = {
            "request_id": request_id,
            "name": rng.choice(("王小明", "李建国", "张伟", "刘洋", "陈静")),
            "phone": f"13{rng.randrange(10**9):09d}",
            "occupation": t.occupation.value,
            "platform": t.platform,
            "category": t.category,
            "summary": t.summary,
            "residence": residence,
            "workplace": workplace,
            "incident": workplace if t.incident else None,
            "channel": rng.choice(list(Channel)).value,
            "urgent": drill,
            "sla_plan": DRILL if drill else None,
        }
        form = IntakeForm.model_validate(body)
        check_against_directory(form, rules)
        decision = rules.route(
            RoutingFacts(
                category=form.category,
                occupation=form.occupation,
                platform=form.platform,
                summary=form.summary,
                residence=form.residence,
                workplace=form.workplace,
                incident=form.incident,
            ),
            sla_plan_override=form.sla_plan,
        )
        tasks = 1 + len(decision.co) + (1 if decision.liaison is not None else 0)
        act = None
        if not drill and rng.random() < act_share:
            # A lead without co-handlers may complete; with them it would wait for their
            # opinions, so it returns the case instead (which re-routes it).
            act = "complete" if tasks == 1 and rng.random() < 0.5 else "return"
        out.append(
            Intake(
                {k: v for k, v in body.items() if v is not None},
                request_id,
                case_id_for(request_id),
                drill,
                tasks,
                act,
            )
        )
    return out


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return f"(not JSON) {r.text[:200]}"
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return f"(no detail) {str(body)[:200]}"
    detail: str = body["detail"]
    return detail


@dataclass
class Front:
    """The API as the clerk and the handlers use it, one token each (the dev password),
    every call noted in ``calls``."""

    base: str
    password: str
    faults: Faults
    calls: list[Call] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Front:
        self._http = httpx.AsyncClient(
            base_url=self.base + API, timeout=HTTP_TIMEOUT, trust_env=False
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def call(
        self,
        what: str,
        method: str,
        path: str,
        staff: str | None = None,
        extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[Call, Any]:
        assert self._http is not None
        headers = dict(extra or {})
        if staff is not None:
            token = await self.token(staff)
            if token is None:
                return self.calls[-1], None  # the login's refusal is the answer
            headers["Authorization"] = f"Bearer {token}"
        faults, t0 = self.faults.now(), time.monotonic()
        try:
            r = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as e:
            call = Call(
                what, faults | self.faults.now(), 0, time.monotonic() - t0, repr(e), started=t0
            )
            self.calls.append(call)
            return call, None
        seconds = time.monotonic() - t0
        ok = 200 <= r.status_code < 300
        detail = "" if ok else _detail(r)
        call = Call(what, faults | self.faults.now(), r.status_code, seconds, detail, started=t0)
        self.calls.append(call)
        return call, (r.json() if ok and r.content else None)

    async def token(self, staff: str) -> str | None:
        if staff not in self.tokens:
            call, body = await self.call(
                "login", "POST", "/token", data={"username": staff, "password": self.password}
            )
            if not call.accepted:
                return None
            self.tokens[staff] = str(body["access_token"])
        return self.tokens[staff]


async def until_accepted(
    front: Front,
    what: str,
    method: str,
    path: str,
    staff: str,
    *,
    give_up: float,
    json: dict[str, Any] | None = None,
    done: Iterable[int] = (),
) -> tuple[Call, Any]:
    """The call again after each clean refusal or silence (as a person would try again)
    until it is accepted, answered with a status in ``done``, or ``give_up`` (monotonic)."""
    final = frozenset(done)
    # One key for every try of this one action: a try that took effect before its answer
    # was lost is not applied again (the API's Idempotency-Key).
    key = {"Idempotency-Key": uuid.uuid4().hex} if path.startswith("/tasks/") else None
    while True:
        call, body = await front.call(what, method, path, staff, json=json, extra=key)
        if call.accepted or call.status in final or time.monotonic() > give_up:
            return call, body
        await asyncio.sleep(random.uniform(*RETRY_PAUSE))


@dataclass
class Handling:
    """What happened to each intake: acknowledged (201) and its handler's steps."""

    opened: dict[str, str] = field(default_factory=dict)  # request id → case id (201)
    unopened: list[str] = field(default_factory=list)  # never acknowledged in time
    acted: dict[str, list[str]] = field(default_factory=dict)  # case id → "accept:200", …


async def open_one(front: Front, intake: Intake, *, give_up: float) -> str | None:
    body = intake.body | {"not_repeat": True}
    call, opened = await until_accepted(
        front, "open", "POST", "/cases", CLERK, json=body, give_up=give_up, done=(409, 422)
    )
    if not call.accepted:
        return None
    case_id = str(opened["case_id"])
    assert case_id == intake.case_id, (case_id, intake.case_id)
    return case_id


async def lead_task(front: Front, case_id: str, *, give_up: float) -> dict[str, Any] | None:
    """The case's lead task once the read model has it (as the clerk sees the case)."""
    while time.monotonic() < give_up:
        # 404 until the case's first projection is in the read model.
        call, case = await front.call("case (poll)", "GET", f"/cases/{case_id}", CLERK)
        if call.accepted:
            lead = next((t for t in case["tasks"] if t["role"] == "lead"), None)
            if lead is not None:
                return dict(lead)
        await asyncio.sleep(0.5)
    return None


async def handle_one(
    front: Front,
    rules: RuleSet,
    intake: Intake,
    case_id: str,
    steps: list[str],
    *,
    give_up: float,
) -> None:
    """The lead office's handler accepts the task, notes it, then completes or returns it."""
    lead = await lead_task(front, case_id, give_up=give_up)
    if lead is None:
        steps.append("no lead task")
        return
    handlers = rules.handlers_of(str(lead["office"]))
    if not handlers:
        steps.append(f"no handler in {lead['office']}")
        return
    handler, task = handlers[0], f"/tasks/{lead['id']}"
    owner = next(d for d in OWNERS if d != lead["department"])
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("accept", {}),
        ("note", {"text": "已联系劳动者核实情况"}),
    ]
    if intake.act == "complete":
        bodies.append(("complete", {"outcome": "resolved", "reply": "经协调，问题已解决。"}))
    else:
        bodies.append(("return", {"reason": "不属本单位职责，请改派", "owner": owner}))
    for verb, body in bodies:
        # 409: refused by the task's state, e.g. an accept that took effect before a
        # silence and was sent again; the next step goes on from there.
        call, _ = await until_accepted(
            front,
            verb,
            "POST",
            f"{task}/{verb}",
            handler,
            json=body,
            give_up=give_up,
            done=(404, 409, 422),
        )
        steps.append(f"{verb}:{call.status}")


async def open_all(
    front: Front,
    rules: RuleSet,
    intakes: list[Intake],
    handling: Handling,
    *,
    concurrency: int,
    give_up: float,
    rate: float | None = None,
) -> None:
    """Open every intake, ``rate`` a second (None: as fast as ``concurrency`` clerks
    can), at most ``concurrency`` at a time; a handled one's actions start as soon as
    it is open, beside the rest of the load."""
    gate = asyncio.Semaphore(concurrency)
    start = time.monotonic()

    async def one(intake: Intake) -> None:
        async with gate:
            case_id = await open_one(front, intake, give_up=give_up)
        if case_id is None:
            handling.unopened.append(intake.request_id)
            return
        handling.opened[intake.request_id] = case_id
        if intake.act is not None:
            steps = handling.acted.setdefault(case_id, [])
            await handle_one(front, rules, intake, case_id, steps, give_up=give_up)

    opening = []
    for n, intake in enumerate(intakes):
        if rate is not None:
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        opening.append(asyncio.ensure_future(one(intake)))
    await asyncio.gather(*opening)
