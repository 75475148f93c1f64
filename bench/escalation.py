"""Escalation timeliness: how late each rung e-mail leaves after its due instant.

Run from the project root::

    .venv/bin/python bench/escalation.py [--cases N] [--port P] [--seed S]

One Temporal dev server (``devstack.embedded_stack``, a free base port, a temporary
data directory) with its SMTP sink, and the real worker (``worker.run_worker``) in
this process. N cases are opened at once through ``bench.stack.start_case_direct`` with
the ``drill`` SLA plan (sign-for 1m, reply 3m, three rungs a minute apart) and
``urgent=True``: an urgent clock notifies at the crossing instant itself, whereas a
non-urgent one waits for office hours (``sla.ledger.ClockMath._schedule``), which
would make the figures meaningless outside 09:00-17:30 on working days.

Nobody acts on the cases, so every task's sign-for clock breaches after 1 minute and
climbs rungs 1..3 a minute apart, and its reply clock does the same from 3 minutes.
For every rung e-mail (task × clock × rung) the benchmark takes

* the due instant: ``deadlines.detail`` → ``events[].at`` of ``rung-N`` in the read
  model, cross-checked against the task workflow's ``state`` query;
* the send time: ``outbox.sent_at`` (id ``{task}:{clock}:{rung}``), written by the
  send activity once the SMTP server has accepted the message;
* as a cross-check, the arrival at the SMTP sink: the ``.eml`` file's mtime, and the
  instant the sink's handler was called (the sink class is subclassed in this process
  to note every delivery, because it names files by second and Message-ID, so a
  duplicate within the same second would overwrite its own file).

It waits, with a bound, until every expected rung e-mail is sent (the last, reply
rung-3, about 5 minutes after the cases are opened), prints the lateness per rung and
overall, where it comes from, and whether every rung went out exactly once, then
stops what it started. Nothing in the engine is changed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email import message_from_bytes
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import temporalio
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import devstack
from bench.report import cpu_model, med, pct, section, table
from bench.stack import BenchError, run_bench, temporal_version
from bench.stack import stack_and_worker as engine_stack
from bench.stack import start_case_direct as open_case
from client import connect
from db.engine import make_engine
from db.tables import DeadlineRow, EventRow, OutboxRow, TaskRow
from models.case import case_id_for
from models.common import Channel, Occupation
from models.intake import IntakeForm
from models.routing import RoutingFacts
from models.tasks import TaskState
from routing_rules import RuleSet, load_ruleset
from services.cases import check_against_directory
from services.errors import ServiceError
from settings import Settings

PLAN = "drill"
CLERK = "clerk.li"
POLL_INTERVAL = 0.25  # seconds between two looks at the read model
DISPATCH_TIMEOUT = 60.0  # seconds for every task to be projected with its clocks
GRACE = 45.0  # seconds after the last due instant before giving up on missing mail
SETTLE = 5.0  # seconds to keep listening after the last mail, to catch duplicates
MAX_WAIT = 420.0  # seconds: drill rungs due later than this mean the plan has changed


# ---- statistics and printing ---------------------------------------------------------


def fmt(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def stats_row(name: str, values: Sequence[float]) -> list[str]:
    return [
        name,
        str(len(values)),
        fmt(min(values) if values else math.nan),
        fmt(med(values)),
        fmt(pct(values, 90)),
        fmt(max(values) if values else math.nan),
    ]


STATS_HEADERS = ["", "count", "min s", "median s", "p90 s", "max s"]


# ---- machine --------------------------------------------------------------------------


# ---- the SMTP sink, observed -------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One DATA command the sink accepted: when, and which notification."""

    at: float  # time.time() when the sink's handler was called
    notification: str
    message_id: str


DELIVERIES: list[Delivery] = []


class CountingSink(devstack.MailSink):
    """The project's sink, unchanged, plus a note of every delivery (runs in the sink's
    thread; list.append is atomic)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        at = time.time()
        content: bytes = envelope.original_content or envelope.content
        msg = message_from_bytes(content)
        DELIVERIES.append(
            Delivery(
                at=at,
                notification=str(msg.get("X-Appeals-Notification") or ""),
                message_id=str(msg.get("Message-ID") or ""),
            )
        )
        return await super().handle_DATA(server, session, envelope)


# ---- intake --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    category: str
    occupation: Occupation
    platform: str | None
    summary: str
    incident: bool = False


INTAKES = (
    Intake(
        "wage_arrears", Occupation.rider, "meituan", "配送站拖欠两个月工资共8400元，多次催要未果。"
    ),
    Intake(
        "platform_penalty",
        Occupation.ride_hailing,
        "didi",
        "因乘客投诉被平台罚款200元并封号7天，申诉无人处理，认为处罚规则不透明。",
    ),
    Intake(
        "parking_access",
        Occupation.courier,
        "sf_express",
        "片区小区禁止快递三轮车进入，路边临时停靠也被贴罚单，无法完成派件。",
        incident=True,
    ),
    Intake(
        "social_insurance",
        Occupation.courier,
        None,
        "网点未为其缴纳社会保险，工作两年没有任何保障。",
    ),
    Intake(
        "algorithm_rules",
        Occupation.rider,
        "eleme",
        "平台算法不断压缩配送时限，超时即扣款，抽成比例不透明。",
    ),
    Intake(
        "transport_operation",
        Occupation.truck_driver,
        "huolala",
        "货运平台派单后临时压价，并拒付空驶和等候费用。",
        incident=True,
    ),
    Intake("legal_aid", Occupation.rider, None, "与配送站就押金退还发生纠纷，需要法律援助。"),
    Intake(
        "other", Occupation.truck_driver, None, "长途货运途中车辆故障滞留，需要临时救助和信息咨询。"
    ),
)
DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114")


@contextlib.asynccontextmanager
async def stack_and_worker(
    args: Args, data_dir: Path
) -> AsyncIterator[tuple[Settings, asyncio.Task[None]]]:
    """The shared stack and worker, with the SMTP sink swapped for one that counts
    deliveries (a duplicate within one second would overwrite its own .eml file)."""
    original = devstack.MailSink
    setattr(devstack, "MailSink", CountingSink)  # noqa: B010 (embedded_stack looks it up)
    try:
        async with engine_stack(args.port, data_dir) as (live, worker_task):
            yield live, worker_task
    finally:
        setattr(devstack, "MailSink", original)  # noqa: B010


@dataclass
class PlannedCase:
    form: IntakeForm
    case_id: str
    tasks: int  # every task the rules start: lead, co-handlers, platform liaison
    drill: int  # those on the drill plan: all of them (a drill stays a drill)


def plan_cases(rules: RuleSet, rng: random.Random, prefix: str, count: int) -> list[PlannedCase]:
    planned = []
    for i in range(count):
        t = INTAKES[i % len(INTAKES)]
        residence = rng.choice(DISTRICTS)
        workplace = residence if rng.random() < 0.5 else rng.choice(DISTRICTS)
        form = IntakeForm(
            request_id=f"{prefix}{i:04d}",
            name="王小明" if i % 2 else "李建国",
            phone=f"139{rng.randrange(10**8):08d}",
            occupation=t.occupation,
            platform=t.platform,
            category=t.category,
            summary=t.summary,
            residence=residence,
            workplace=workplace,
            incident=workplace if t.incident else None,
            channel=list(Channel)[i % len(Channel)],
            urgent=True,
            sla_plan=PLAN,
        )
        try:
            check_against_directory(form, rules)
        except ServiceError as e:
            raise BenchError(f"an intake the directory refuses: {e}") from e
        facts = RoutingFacts(
            category=form.category,
            occupation=form.occupation,
            platform=form.platform,
            summary=form.summary,
            residence=form.residence,
            workplace=form.workplace,
            incident=form.incident,
        )
        decision = rules.route(facts, sla_plan_override=PLAN)
        # A drill stays a drill: platform liaison tasks and external hand-offs run
        # on the drill plan too (the liaison carries only its reply clock).
        offices = [decision.lead, *decision.co]
        tasks = len(offices) + (1 if decision.liaison is not None else 0)
        drill = tasks
        planned.append(PlannedCase(form, case_id_for(form.request_id), tasks, drill))
    return planned


# ---- what the read model says ----------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    task: str
    clock: str
    event: str

    @property
    def notification(self) -> str:
        return f"{self.task}:{self.clock}:{self.event}"


@dataclass
class Point:
    """One warning or rung of one clock, from ``deadlines.detail``."""

    key: Key
    plan: str | None  # the clock's plan (deadlines.detail.plan)
    kind: str  # warning or breach
    at: datetime  # the crossing instant (the due instant of the e-mail)
    notify_at: datetime | None
    fired_at: datetime | None


def parse_ts(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def points_of(rows: Iterable[DeadlineRow]) -> dict[Key, Point]:
    out: dict[Key, Point] = {}
    for d in rows:
        detail = json.loads(d.detail or "{}")
        for e in detail.get("events", []):
            if e.get("kind") not in ("warning", "breach"):
                continue
            at = parse_ts(e.get("at"))
            if at is None:
                continue
            key = Key(d.task_id, d.clock, str(e["key"]))
            out[key] = Point(
                key,
                detail.get("plan"),
                str(e["kind"]),
                at,
                parse_ts(e.get("notify_at")),
                parse_ts(e.get("fired_at")),
            )
    return out


class ReadModel:
    def __init__(self, db_url: str) -> None:
        self.engine = make_engine(db_url)

    def _tasks(self, case_ids: Sequence[str]) -> tuple[list[TaskRow], list[DeadlineRow]]:
        with Session(self.engine) as s:
            tasks = list(s.exec(select(TaskRow).where(col(TaskRow.case_id).in_(case_ids))).all())
            deadlines = list(
                s.exec(select(DeadlineRow).where(col(DeadlineRow.case_id).in_(case_ids))).all()
            )
        return tasks, deadlines

    def _outbox(self, case_ids: Sequence[str]) -> list[OutboxRow]:
        with Session(self.engine) as s:
            return list(s.exec(select(OutboxRow).where(col(OutboxRow.case_id).in_(case_ids))).all())

    def _escalations(self, case_ids: Sequence[str]) -> list[EventRow]:
        with Session(self.engine) as s:
            stmt = select(EventRow).where(
                col(EventRow.case_id).in_(case_ids),
                col(EventRow.action).in_(["escalated", "warning"]),
            )
            return list(s.exec(stmt).all())

    async def tasks(self, case_ids: Sequence[str]) -> tuple[list[TaskRow], list[DeadlineRow]]:
        return await asyncio.to_thread(self._guard, self._tasks, case_ids, ([], []))

    async def outbox(self, case_ids: Sequence[str]) -> list[OutboxRow]:
        return await asyncio.to_thread(self._guard, self._outbox, case_ids, [])

    async def escalations(self, case_ids: Sequence[str]) -> list[EventRow]:
        return await asyncio.to_thread(self._guard, self._escalations, case_ids, [])

    @staticmethod
    def _guard(fn: Any, case_ids: Sequence[str], empty: Any) -> Any:
        try:
            return fn(case_ids)
        except Exception as e:  # not migrated yet: the worker migrates as it starts
            if "no such table" in str(e):
                return empty
            raise

    def close(self) -> None:
        self.engine.dispose()


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class Args:
    cases: int
    port: int | None
    seed: int


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=30, help="cases to open (default 30)")
    p.add_argument("--port", type=int, default=None, help="base port P (default: a free one)")
    p.add_argument("--seed", type=int, default=1, help="seed of the intake mix (default 1)")
    ns = p.parse_args(argv)
    args = Args(ns.cases, ns.port, ns.seed)
    if args.cases < 1:
        p.error("--cases must be ≥ 1")
    if args.port is not None and (args.port == 7233 or not 1024 <= args.port <= 64000):
        p.error("--port must be in 1024..64000 and not 7233")
    return args


@dataclass
class Observed:
    planned: list[PlannedCase]
    opened_at: datetime
    open_s: float
    tasks: list[TaskRow] = field(default_factory=list)
    points: dict[Key, Point] = field(default_factory=dict)
    outbox: list[OutboxRow] = field(default_factory=list)
    audit: list[EventRow] = field(default_factory=list)
    queried: dict[Key, datetime] = field(default_factory=dict)  # due instants per `state`
    eml: list[tuple[str, str, float]] = field(default_factory=list)  # notif, msg id, mtime
    deliveries: list[Delivery] = field(default_factory=list)
    spans: dict[str, MailSpan] = field(default_factory=dict)
    timed_out: bool = False
    waited_s: float = 0.0


def check_worker(worker_task: asyncio.Task[None]) -> None:
    if worker_task.done():
        exc = None if worker_task.cancelled() else worker_task.exception()
        raise BenchError(f"the engine's worker stopped: {exc!r}")


async def wait_dispatched(
    db: ReadModel, planned: list[PlannedCase], worker_task: asyncio.Task[None]
) -> tuple[list[TaskRow], dict[Key, Point]]:
    """Until every planned task is in the read model with its clocks' rungs scheduled."""
    case_ids = [c.case_id for c in planned]
    want = sum(c.tasks for c in planned)
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    while True:
        check_worker(worker_task)
        tasks, deadlines = await db.tasks(case_ids)
        points = points_of(deadlines)
        with_rungs = {k.task for k, p in points.items() if p.kind == "breach"}
        if len(tasks) >= want and all(t.task_id in with_rungs for t in tasks):
            return tasks, points
        if time.monotonic() > deadline:
            raise BenchError(
                f"after {DISPATCH_TIMEOUT:.0f} s only {len(tasks)}/{want} tasks are in the "
                f"read model ({len(with_rungs)} with their rungs scheduled)"
            )
        await asyncio.sleep(POLL_INTERVAL)


async def wait_sent(
    db: ReadModel,
    case_ids: list[str],
    expected: set[str],
    last_due: datetime,
    worker_task: asyncio.Task[None],
    tz: tzinfo,
) -> bool:
    """Until every expected rung e-mail is sent, or GRACE s after the last due instant.
    Prints a progress line every 30 s. Returns whether it timed out."""
    give_up = last_due.timestamp() + GRACE
    next_report = time.time() + 30
    while True:
        check_worker(worker_task)
        rows = await db.outbox(case_ids)
        sent = sum(1 for r in rows if r.id in expected and r.status == "sent")
        now = time.time()
        if sent >= len(expected):
            return False
        if now > give_up:
            return True
        if now >= next_report:
            left = last_due.timestamp() - now
            print(
                f"  {datetime.now(tz):%H:%M:%S}  {sent}/{len(expected)} rung e-mails sent; "
                f"last due in {max(left, 0):.0f} s"
            )
            next_report = now + 30
        await asyncio.sleep(POLL_INTERVAL * 2)


async def query_due(client: Client, task_ids: Sequence[str]) -> dict[Key, datetime]:
    """Due instants of every rung according to each task workflow's `state` query."""
    out: dict[Key, datetime] = {}
    for task_id in task_ids:
        state = await client.get_workflow_handle(task_id).query("state", result_type=TaskState)
        for c in state.clocks:
            for e in c.events:
                if e.kind == "breach" and e.at is not None:
                    out[Key(task_id, c.spec.name, e.key)] = e.at
    return out


@dataclass
class MailSpan:
    """Instants from the history of one NotificationWorkflow (``mail-<notification id>``)."""

    started: datetime | None = None  # WorkflowExecutionStarted
    send_scheduled: datetime | None = None  # send_notification scheduled (queue done)
    send_started: datetime | None = None  # a worker picked send_notification up
    attempts: int = 0  # send_notification attempts (ActivityTaskStarted.attempt)


async def mail_spans(client: Client, notification_ids: Sequence[str]) -> dict[str, MailSpan]:
    gate = asyncio.Semaphore(8)
    out: dict[str, MailSpan] = {}

    async def one(nid: str) -> None:
        async with gate:
            try:
                history = await client.get_workflow_handle(f"mail-{nid}").fetch_history()
            except RPCError as err:  # a task's mail since patches.MAIL_THROUGH_OUTBOX
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                return
        span = MailSpan()
        send_id = None
        for e in history.events:
            at = e.event_time.ToDatetime(tzinfo=UTC)
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                span.started = at
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = e.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == "send_notification":
                    span.send_scheduled, send_id = at, e.event_id
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started = e.activity_task_started_event_attributes
                if started.scheduled_event_id == send_id:
                    span.send_started, span.attempts = at, started.attempt
        out[nid] = span

    await asyncio.gather(*(one(n) for n in notification_ids))
    return out


def read_eml(directory: Path) -> list[tuple[str, str, float]]:
    out = []
    parser = BytesHeaderParser()
    for path in sorted(directory.glob("*.eml")):
        with path.open("rb") as fh:
            headers = parser.parse(fh)
        out.append(
            (
                str(headers.get("X-Appeals-Notification") or ""),
                str(headers.get("Message-ID") or ""),
                path.stat().st_mtime,
            )
        )
    return out


async def observe(args: Args, live: Settings, worker_task: asyncio.Task[None]) -> Observed:
    rules = load_ruleset(live.rules_dir)
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{os.getpid() % 1000:03d}"
    planned = plan_cases(rules, random.Random(args.seed), f"esc-{stamp}-", args.cases)
    case_ids = [c.case_id for c in planned]
    db = ReadModel(live.db_url)
    client = await connect(live)
    try:
        print(f"opening {len(planned)} cases at once (plan {PLAN}, urgent) …")
        opened_at = datetime.now(UTC)
        t0 = time.perf_counter()
        await asyncio.gather(*(open_case(live, c.form, CLERK) for c in planned))
        obs = Observed(planned, opened_at, time.perf_counter() - t0)
        obs.tasks, points = await wait_dispatched(db, planned, worker_task)
        rungs = [p for p in points.values() if p.kind == "breach" and p.plan == PLAN]
        if not rungs:
            raise BenchError(f"no clock of the opened cases runs on the {PLAN} plan")
        expected = {p.key.notification for p in rungs}
        last_due = max(p.at for p in rungs)
        if (last_due - datetime.now(UTC)).total_seconds() > MAX_WAIT:
            raise BenchError(
                f"the last {PLAN} rung falls due at {last_due.astimezone(live.tz):%Y-%m-%d %H:%M}"
                f", more than {MAX_WAIT:.0f} s away: has the {PLAN} plan changed?"
            )
        drill_tasks = {p.key.task for p in rungs}
        since = (datetime.now(UTC) - opened_at).total_seconds()
        print(
            f"{len(obs.tasks)} tasks dispatched {since:.1f} s after the first open call, "
            f"{len(drill_tasks)} of them on the {PLAN} plan; "
            f"{len(expected)} rung e-mails due, the last at "
            f"{last_due.astimezone(live.tz):%H:%M:%S} (in "
            f"{(last_due - datetime.now(UTC)).total_seconds():.0f} s); waiting …"
        )
        w0 = time.perf_counter()
        obs.timed_out = await wait_sent(db, case_ids, expected, last_due, worker_task, live.tz)
        obs.waited_s = time.perf_counter() - w0
        await asyncio.sleep(SETTLE)  # anything sent twice shows up here
        check_worker(worker_task)
        _, deadlines = await db.tasks(case_ids)
        obs.points = points_of(deadlines)
        obs.outbox = await db.outbox(case_ids)
        obs.audit = await db.escalations(case_ids)
        obs.queried = await query_due(client, sorted(drill_tasks))
        obs.eml = await asyncio.to_thread(read_eml, live.mail_dir)
        obs.deliveries = list(DELIVERIES)
        obs.spans = await mail_spans(client, sorted(expected))
        return obs
    finally:
        db.close()


# ---- the report ------------------------------------------------------------------------------


def secs(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds()


def report(obs: Observed) -> int:
    drill = {k: p for k, p in obs.points.items() if p.plan == PLAN}
    rungs = {k: p for k, p in drill.items() if p.kind == "breach"}
    warnings = {k: p for k, p in drill.items() if p.kind == "warning"}
    outbox = {r.id: r for r in obs.outbox}
    by_notif_eml: dict[str, list[float]] = defaultdict(list)
    for notif, _, mtime in obs.eml:
        by_notif_eml[notif].append(mtime)
    by_notif_sink: dict[str, list[float]] = defaultdict(list)
    for d in obs.deliveries:
        by_notif_sink[d.notification].append(d.at)
    ts = datetime.fromtimestamp

    # -- 1. lateness of sending, per rung -----------------------------------------------
    late: dict[str, list[float]] = defaultdict(list)
    late_clock: dict[tuple[str, str], list[float]] = defaultdict(list)
    fired_clock: dict[tuple[str, str], list[float]] = defaultdict(list)
    seg: dict[str, list[float]] = defaultdict(list)
    warn_late: list[float] = []
    for k, p in sorted(rungs.items(), key=lambda kv: (kv[1].at, kv[0].notification)):
        row = outbox.get(k.notification)
        if row is None or row.sent_at is None:
            continue
        lateness = secs(row.sent_at, p.at)
        late[k.event].append(lateness)
        late["all rungs"].append(lateness)
        late_clock[(k.clock, k.event)].append(lateness)
        arrivals = by_notif_sink.get(k.notification)
        arrival = ts(min(arrivals), UTC) if arrivals else None
        span = obs.spans.get(k.notification, MailSpan())
        chain = [
            ("a. due → fired (timer, task's workflow task)", p.at, p.fired_at),
            ("b. fired → mail workflow started", p.fired_at, span.started),
            ("c. mail started → send activity scheduled", span.started, span.send_scheduled),
            ("d. send scheduled → picked up by the worker", span.send_scheduled, span.send_started),
            ("e. picked up → at the SMTP sink", span.send_started, arrival),
            ("f. at the sink → outbox.sent_at", arrival, row.sent_at),
        ]
        if span.started is None:  # no workflow: queued with the projection, relay sends
            chain.insert(1, ("b-e. fired → at the SMTP sink (outbox relay)", p.fired_at, arrival))
        for name, start, end in chain:
            if start is not None and end is not None:
                seg[name].append(secs(end, start))
        if p.fired_at is not None:
            fired_clock[(k.clock, k.event)].append(secs(p.fired_at, p.at))
        mtimes = by_notif_eml.get(k.notification)
        if mtimes:
            written = ts(min(mtimes), UTC)
            seg["due → .eml file written (mtime)"].append(secs(written, p.at))
            seg["mtime → outbox.sent_at"].append(secs(row.sent_at, written))
            if arrival is not None:
                seg["sink handler called → mtime"].append(secs(written, arrival))
    for k, p in warnings.items():
        row = outbox.get(k.notification)
        if row is not None and row.sent_at is not None:
            warn_late.append(secs(row.sent_at, p.at))

    section("1. Rung e-mails: sent (outbox.sent_at) minus due instant (the rung's `at`)")
    names = ["rung-1", "rung-2", "rung-3", "all rungs"]
    print(table(STATS_HEADERS, [stats_row(n, late[n]) for n in names], right=range(1, 6)))
    print()
    print("by clock (sign_for rungs due 1, 2, 3 min after dispatch; reply rungs 3, 4, 5 min):")
    rows = []
    for c in ("sign_for", "reply"):
        for e in ("rung-1", "rung-2", "rung-3"):
            fired = fired_clock[(c, e)]
            rows.append(
                [
                    *stats_row(f"{c} {e}", late_clock[(c, e)]),
                    fmt(med(fired)),
                    fmt(max(fired) if fired else math.nan),
                ]
            )
    rows.append([*stats_row("(warnings, for comparison)", warn_late), "", ""])
    headers = [*STATS_HEADERS, "due→fired med s", "due→fired max s"]
    print(table(headers, rows, right=range(1, 8)))
    due_gap, fired_gap, later = [], [], 0
    for t in {k.task for k in rungs}:
        a = rungs.get(Key(t, "sign_for", "rung-3"))
        b = rungs.get(Key(t, "reply", "rung-1"))
        if a and b and a.fired_at and b.fired_at:
            due_gap.append(secs(b.at, a.at))
            fired_gap.append(secs(b.fired_at, a.fired_at))
            later += b.fired_at > a.fired_at
    print(
        f"\nsign_for rung-3 and reply rung-1 of the same task ({len(due_gap)} tasks): due "
        f"{fmt(med(due_gap))} s apart (median), fired {fmt(med(fired_gap))} s apart (median; "
        f"max {fmt(max(fired_gap) if fired_gap else math.nan)}); reply rung-1 fired second "
        f"in {later} of them"
    )

    section("2. Where the lateness comes from (every rung e-mail, in seconds)")
    order = [
        "a. due → fired (timer, task's workflow task)",
        "b. fired → mail workflow started",
        "c. mail started → send activity scheduled",
        "d. send scheduled → picked up by the worker",
        "e. picked up → at the SMTP sink",
        "f. at the sink → outbox.sent_at",
    ]
    rows = [stats_row(n, seg[n]) for n in order]
    rows.append(stats_row("a..f = sent minus due", late["all rungs"]))
    print(table(STATS_HEADERS, rows, right=range(1, 6)))
    print()
    print("cross-check with the .eml files the sink wrote:")
    rows = [
        stats_row(n, seg[n])
        for n in (
            "due → .eml file written (mtime)",
            "sink handler called → mtime",
            "mtime → outbox.sent_at",
        )
    ]
    print(table(STATS_HEADERS, rows, right=range(1, 6)))
    print(
        """
a  due: the rung's crossing instant in deadlines.detail (urgent: notify_at = at); fired:
   its fired_at, workflow.now() of the task workflow's task that woke on the timer. One
   driver per task fires its clocks' events one after another: sign_for rung-3 and reply
   rung-1 fall due within about a second of each other (the reply clock starts one
   clock_op activity later), and the second waits until the first has started its mail
   workflow, projected the task (project activity) and signalled the case.
b  the task's workflow task completes with StartChildWorkflowExecution; the server starts
   mail-<id> (NotificationWorkflow; history event time).
c  the child's first workflow task, queue_notification (outbox row, subject rendered),
   its second workflow task, which schedules send_notification.
d  send_notification waits in the activity queue.
e  it renders the mail and sends it over SMTP to the embedded sink (new connection).
f  the sink's 250 back to aiosmtplib, then the outbox row is written as sent (sent_at)."""
    )

    # -- 3. exactly once ------------------------------------------------------------------------
    section("3. Every rung exactly once?")
    expected = {k.notification for k in rungs}
    drill_tasks = {k.task for k in drill}
    n_tasks = len(drill_tasks)
    planned_tasks = sum(c.drill for c in obs.planned)
    task_plans = {(k.task, str(p.plan)) for k, p in obs.points.items() if k.task not in drill_tasks}
    other_plans = Counter(plan for _, plan in task_plans)
    others = len(obs.tasks) - n_tasks
    breach_rows = [r for r in obs.outbox if r.kind == "breach"]
    sent = [r for r in breach_rows if r.status == "sent"]
    sent_ids = {r.id for r in obs.outbox if r.status == "sent"}
    not_sent = sorted(r.id for r in breach_rows if r.status != "sent")
    missing = sorted(expected - {r.id for r in sent})
    unexpected = sorted({r.id for r in breach_rows} - expected)
    retried = sorted(r.id for r in breach_rows if r.attempts > 1)
    fired_events = Counter(
        (
            e.task_id,
            json.loads(e.data or "{}").get("clock"),
            json.loads(e.data or "{}").get("event"),
        )
        for e in obs.audit
        if e.action == "escalated"
    )
    dup_fired = {k: n for k, n in fired_events.items() if n > 1}
    eml_rung = [(n, m, t) for n, m, t in obs.eml if n in expected]
    eml_by_notif = Counter(n for n, _, _ in eml_rung)
    eml_by_msgid = Counter(m for _, m, _ in eml_rung)
    sink_by_notif = Counter(d.notification for d in obs.deliveries if d.notification in expected)
    sink_by_msgid = Counter(d.message_id for d in obs.deliveries if d.notification in expected)
    mismatch = [k for k, p in rungs.items() if k in obs.queried and obs.queried[k] != p.at]
    not_queried = [k for k in rungs if k not in obs.queried]
    per_task = Counter((k.task, k.clock) for k in rungs)
    rows = [
        [
            f"tasks on the {PLAN} plan (planned by the rules / in the read model)",
            f"{planned_tasks} / {n_tasks}",
        ],
        [
            "other tasks, on their own plans (not measured)",
            f"{others}"
            + (
                f" ({', '.join(f'{k} {v}' for k, v in sorted(other_plans.items()))})"
                if other_plans
                else ""
            ),
        ],
        ["rung e-mails expected (tasks × 2 clocks × 3 rungs)", f"{n_tasks * 6}"],
        ["rungs scheduled in the read model", str(len(expected))],
        ["rung outbox rows / sent", f"{len(breach_rows)} / {len(sent)}"],
        ["missing (expected, not sent)", str(len(missing))],
        ["outbox rows not sent (queued/retrying/failed)", str(len(not_sent))],
        ["outbox rows not expected", str(len(unexpected))],
        [
            "rung sends that needed >1 attempt (outbox / histories)",
            f"{len(retried)} / {sum(1 for sp in obs.spans.values() if sp.attempts > 1)}",
        ],
        [
            "'escalated' audit events / duplicated keys",
            f"{sum(fired_events.values())} / {len(dup_fired)}",
        ],
        [
            ".eml files of rungs / distinct notification ids / distinct Message-IDs",
            f"{len(eml_rung)} / {len(eml_by_notif)} / {len(eml_by_msgid)}",
        ],
        [
            "sink deliveries of rungs / distinct notification ids / distinct Message-IDs",
            f"{sum(sink_by_notif.values())} / {len(sink_by_notif)} / {len(sink_by_msgid)}",
        ],
        [
            "notifications delivered more than once (sink / .eml)",
            f"{sum(1 for n in sink_by_notif.values() if n > 1)} / "
            f"{sum(1 for n in eml_by_notif.values() if n > 1)}",
        ],
        [
            "due instants: read model vs `state` query (compared / differ / absent)",
            f"{len(rungs) - len(not_queried)} / {len(mismatch)} / {len(not_queried)}",
        ],
        ["clocks without exactly 3 rungs", str(sum(1 for n in per_task.values() if n != 3))],
        [
            "warning e-mails sent (2 per clock, not measured above)",
            str(sum(1 for k in warnings if k.notification in sent_ids)),
        ],
        ["all e-mails at the sink (.eml files)", str(len(obs.eml))],
    ]
    print(table(["check", "value"], rows, right=[1]))
    failures: list[str] = []
    if obs.timed_out:
        failures.append(f"gave up {GRACE:.0f} s after the last due instant")
    clocks = {(k.task, k.clock) for k in rungs}
    if 3 * len(clocks) != len(expected) or planned_tasks != n_tasks:
        failures.append(
            f"{len(expected)} rungs scheduled for {len(clocks)} clocks of {n_tasks} tasks "
            f"(want 3 per clock, {planned_tasks} tasks planned)"
        )
    for what, items in (
        ("missing", missing),
        ("not sent", not_sent),
        ("retried", retried),
        ("unexpected", unexpected),
    ):
        if items:
            failures.append(f"{what}: {', '.join(items[:5])}{' …' if len(items) > 5 else ''}")
    if dup_fired:
        failures.append(f"fired twice: {list(dup_fired)[:5]}")
    dup_mail = [n for n, c in sink_by_notif.items() if c > 1] + [
        n for n, c in eml_by_notif.items() if c > 1
    ]
    if dup_mail:
        failures.append(f"mailed twice: {sorted(set(dup_mail))[:5]}")
    if mismatch:
        failures.append(f"due instants differ from the workflow's: {mismatch[:3]}")
    if failures:
        print("\nFAILURES:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("\nevery expected rung e-mail was sent exactly once.")
    return 0


def print_facts(args: Args) -> None:
    section("appeals benchmark: escalation timeliness (drill plan, one embedded stack)")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        table(
            ["fact", "value"],
            [
                ["machine", f"{os.cpu_count()} cores ({affinity} usable), {cpu_model()}"],
                ["system", f"{platform.system()} {platform.release()} {platform.machine()}"],
                ["python", platform.python_version()],
                ["temporalio (SDK)", temporalio.__version__],
                ["temporal CLI (dev server)", temporal_version()],
                ["SQLite", sqlite3.sqlite_version],
            ],
        )
    )
    print()
    print(
        f"parameters: cases N={args.cases}, opened at once, urgent, plan {PLAN} (sign_for 1m, "
        f"reply 3m; rungs 0m/+1m/+1m); seed {args.seed};\ngive up {GRACE:.0f} s after the "
        f"last due instant; listen {SETTLE:.0f} s more for duplicates"
    )


async def run(args: Args) -> int:
    print_facts(args)
    with tempfile.TemporaryDirectory(prefix="appeals-esc-", ignore_cleanup_errors=True) as tmp:
        async with stack_and_worker(args, Path(tmp)) as (live, worker_task):
            print(
                f"stack: dev server 127.0.0.1:{live.embedded_port} (UI +1000, SMTP sink "
                f"+2), data {live.data_dir}"
            )
            obs = await observe(args, live, worker_task)
    mix = Counter(c.tasks for c in obs.planned)
    print(
        f"\nopened {len(obs.planned)} cases in {obs.open_s:.2f} s ("
        + ", ".join(f"{n} with {k} task{'s' if k > 1 else ''}" for k, n in sorted(mix.items()))
        + f"; {sum(c.drill for c in obs.planned)} tasks on the {PLAN} plan); waited "
        f"{obs.waited_s:.0f} s for the rung e-mails"
    )
    return report(obs)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
