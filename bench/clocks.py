"""Ten thousand live clocks coming due within a few minutes: how late does each rung
e-mail leave, and does each leave exactly once?

Run from the project root::

    .venv/bin/python bench/clocks.py [--clocks 10000] [--window 1] [--lead 3] [--fill-rate 1.5]

One embedded stack (``devstack.embedded_stack``: Temporal dev server, SMTP sink, SQLite
read model) on a free port and the real worker in this process, as ``escalation.py``
runs them, but on a copy of the sample deployment with plans of the benchmark's own:
``clockbench_mN`` gives the lead and each co-handler five clocks (sign-for, reply,
statutory, acceptance and one more, falling due a minute apart; one rung each, no
warnings) with periods of N, N+1, … N+4 minutes. The sample's plans have up to three a
task; five means fewer cases carry the N clocks, so that the fill (about 1.3 cases a
second on the shared 2-core machine) ends before the first ones fall due.

Cases are opened as ``appeals open`` opens them, urgent (an urgent rung mails at its
crossing instant; a non-urgent one waits for office hours), at most ``--fill-rate`` a
second and only while fewer than ``--backlog`` are not yet routed, each with the plan
that puts its first clock about ``--lead`` minutes after the fill's estimated end, spread
over ``--window`` minutes. So the clocks are all live at once and then come due together.

For every rung e-mail (task × clock) the lateness is ``outbox.sent_at`` minus the rung's
due instant (``deadlines.detail`` → ``events[].at``); the timer's part is ``fired_at``
minus due. Exactly once: one outbox row, sent with one attempt, one ``escalated`` audit
row, one delivery at the sink by notification id and by Message-ID (the sink is
subclassed to count deliveries, as in ``escalation.py``). Sampled task histories show
how long workflow tasks waited and which timed out or failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import temporalio
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import Client

import devstack
from bench.escalation import DELIVERIES, CountingSink, Key, Point, points_of, read_eml
from bench.report import cpu_model, load_average, med, pct, section, table
from bench.stack import BenchError, run_bench, temporal_version, worker_line
from bench.stack import stack_and_worker as engine_stack
from bench.throughput import PlannedCase, make_form, server_pid, start_case
from client import connect
from db.engine import make_engine
from db.tables import DeadlineRow, EventRow, OutboxRow
from models.case import case_id_for
from models.intake import IntakeForm
from models.routing import RoutingFacts
from routing_rules import DEFAULT_RULES_DIR, RuleSet, load_ruleset
from services.cases import check_against_directory
from services.errors import ServiceError
from settings import Settings

PLAN_PREFIX = "clockbench_m"
# After sign-for, the clocks of a task on a bench plan, each due a minute after the last.
EXTRA_CLOCKS = (
    ("reply", "答复"),
    ("statutory", "投诉受理"),
    ("acceptance", "仲裁受理"),
    ("callback_check", "回访核查"),
)
CLOCKS_PER_TASK = 1 + len(EXTRA_CLOCKS)
MAX_MINUTES = 90  # the longest plan written: a fill slower than this needs a smaller N
CLERK = "clerk.li"
POLL = 2.0  # seconds between two looks at the read model while waiting
SETTLE = 5.0  # seconds to keep listening after the last mail, to catch duplicates


# ---- the deployment: the sample plus the benchmark's plans -----------------------------------


def bench_rules(tmp: Path) -> Path:
    """A copy of the sample deployment with plans clockbench_m1 … m90 appended."""
    target = tmp / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    lines = ["", "  # bench/clocks.py: five clocks a task, one rung each, N-minute periods"]
    for m in range(1, MAX_MINUTES + 1):
        lines += [
            f"  - name: {PLAN_PREFIX}{m}",
            f"    label: 时钟压测{m}",
            "    callback: 3wd",
            "    clocks:",
            "      - name: sign_for",
            "        label: 签收",
            f"        period: {m}m",
            "        stops_on: accepted",
            "        warnings: []",
            "        ladder:",
            "          - {rung: 1, to: [head]}",
        ]
        for k, (name, label) in enumerate(EXTRA_CLOCKS, start=1):
            lines += [
                f"      - name: {name}",
                f"        label: {label}",
                f"        period: {m + k}m",
                "        stops_on: completed",
                "        roles: [lead, co]",
                "        warnings: []",
                "        ladder:",
                "          - {rung: 1, to: [head]}",
            ]
    plans = target / "sla_plans.yaml"
    plans.write_text(plans.read_text().rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    return target


@dataclass
class Planned:
    form: IntakeForm
    clocks: int  # bench clocks the rules give it: CLOCKS_PER_TASK per lead or co-handler


def plan_cases(rules: RuleSet, rng: random.Random, prefix: str, clocks: int) -> list[Planned]:
    """Realistic urgent intakes (throughput.make_form) until they carry ``clocks`` clocks."""
    out: list[Planned] = []
    total = 0
    while total < clocks:
        form = make_form(rng, f"{prefix}{len(out):05d}").model_copy(
            update={"urgent": True, "sla_plan": f"{PLAN_PREFIX}1"}
        )
        try:
            check_against_directory(form, rules)
        except ServiceError as e:
            raise BenchError(f"generated an intake the directory refuses: {e}") from e
        facts = RoutingFacts(
            category=form.category,
            occupation=form.occupation,
            platform=form.platform,
            summary=form.summary,
            residence=form.residence,
            workplace=form.workplace,
            incident=form.incident,
        )
        d = rules.route(facts, sla_plan_override=form.sla_plan)
        # An external hand-off or a platform liaison keeps its own plan (days): not counted.
        n = CLOCKS_PER_TASK * sum(1 for o in (d.lead, *d.co) if not o.external)
        out.append(Planned(form, n))
        total += n
    return out


# ---- the read model -----------------------------------------------------------------------------


class ReadModel:
    def __init__(self, db_url: str) -> None:
        self.path = Path(db_url.removeprefix("sqlite:///"))
        self.engine = make_engine(db_url)

    def _count(self, sql: str) -> int:
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30) as c:
                return int(c.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # not migrated yet

    async def count(self, sql: str) -> int:
        return await asyncio.to_thread(self._count, sql)

    def _rows(self) -> tuple[list[DeadlineRow], list[OutboxRow], list[EventRow]]:
        with Session(self.engine) as s:
            deadlines = list(s.exec(select(DeadlineRow)).all())
            outbox = list(s.exec(select(OutboxRow)).all())
            audit = list(s.exec(select(EventRow).where(EventRow.action == "escalated")).all())
        return deadlines, outbox, audit

    async def rows(self) -> tuple[list[DeadlineRow], list[OutboxRow], list[EventRow]]:
        return await asyncio.to_thread(self._rows)

    def close(self) -> None:
        self.engine.dispose()


BENCH_CLOCKS_SQL = (
    f"SELECT count(*) FROM deadlines WHERE json_extract(detail, '$.plan') LIKE '{PLAN_PREFIX}%' "
    "AND EXISTS (SELECT 1 FROM json_each(deadlines.detail, '$.events') e "
    "WHERE json_extract(e.value, '$.kind') = 'breach')"
)
ROUTED_SQL = "SELECT count(*) FROM cases WHERE rule_id IS NOT NULL"
SENT_SQL = "SELECT count(*) FROM outbox WHERE kind = 'breach' AND status = 'sent'"


# ---- the run -------------------------------------------------------------------------------------


@dataclass
class Args:
    clocks: int
    window: float
    lead: float
    fill_rate: float
    backlog: int
    grace: float
    concurrency: int
    port: int | None
    seed: int


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--clocks", type=int, default=10_000, help="live clocks (default 10,000)")
    p.add_argument("--window", type=float, default=3.0, help="minutes they fall due over")
    p.add_argument("--lead", type=float, default=2.0, help="minutes after the fill's estimate")
    p.add_argument("--fill-rate", type=float, default=3.0, help="cases/s started while filling")
    p.add_argument("--backlog", type=int, default=30, help="started cases not yet routed, at most")
    p.add_argument(
        "--grace", type=float, default=900.0, help="seconds after the last due instant, at most"
    )
    p.add_argument("--concurrency", type=int, default=20, help="start calls in flight")
    p.add_argument("--port", type=int, default=None, help="base port P (default: a free one)")
    p.add_argument("--seed", type=int, default=7, help="seed of the intakes (default 7)")
    ns = p.parse_args(argv)
    args = Args(
        ns.clocks,
        ns.window,
        ns.lead,
        ns.fill_rate,
        ns.backlog,
        ns.grace,
        ns.concurrency,
        ns.port,
        ns.seed,
    )
    if args.clocks < 2 or args.window <= 0 or args.lead < 0 or args.fill_rate <= 0:
        p.error("--clocks ≥ 2, --window and --fill-rate > 0, --lead ≥ 0")
    if args.concurrency < 1:
        p.error("--concurrency must be ≥ 1")
    if args.port is not None and (args.port == 7233 or not 1024 <= args.port <= 64000):
        p.error("--port must be in 1024..64000 and not 7233")
    return args


@asynccontextmanager
async def stack(args: Args, tmp: Path) -> AsyncIterator[tuple[Settings, asyncio.Task[None]]]:
    original = devstack.MailSink
    setattr(devstack, "MailSink", CountingSink)  # noqa: B010 (embedded_stack looks it up)
    try:
        async with engine_stack(args.port, tmp, rules_dir=bench_rules(tmp)) as pair:
            yield pair
    finally:
        setattr(devstack, "MailSink", original)  # noqa: B010


@dataclass
class Fill:
    cases: int = 0
    wall: float = 0.0
    minutes: Counter[int] = field(default_factory=Counter)  # plan period → cases
    clamped: int = 0  # cases whose clocks fall due before the window (fill too slow)


async def fill(
    client: Client, live: Settings, db: ReadModel, planned: list[Planned], args: Args
) -> Fill:
    """Open every case, choosing at each start the plan that puts its clocks in the window.

    Cases are started at most at --fill-rate, and only while fewer than --backlog
    started cases are not yet routed in the read model: a case's clocks start when its
    tasks are dispatched, so the worker must keep up for the plan chosen at the start
    to put them in the window. The rate reached is the worker's, and is printed."""
    out = Fill(cases=len(planned))
    t0 = time.monotonic()
    window_start = len(planned) / args.fill_rate + args.lead * 60
    gate = asyncio.Semaphore(args.concurrency)
    progress = {"done": 0, "routed": 0}
    turn = asyncio.Lock()

    async def admitted(i: int) -> None:
        async with turn:  # one case at a time through the pacing and the backlog check
            await asyncio.sleep(max(0.0, t0 + i / args.fill_rate - time.monotonic()))
            while i - progress["routed"] >= args.backlog:
                await asyncio.sleep(0.5)

    async def one(i: int, p: Planned) -> None:
        await admitted(i)
        async with gate:
            target = window_start + args.window * 60 * i / len(planned)
            minutes = math.ceil((target - (time.monotonic() - t0)) / 60)
            if minutes < 1:
                out.clamped += 1
            minutes = min(max(minutes, 1), MAX_MINUTES)
            out.minutes[minutes] += 1
            form = p.form.model_copy(update={"sla_plan": f"{PLAN_PREFIX}{minutes}"})
            case = PlannedCase(form, case_id_for(form.request_id), CLERK, "", 0)
            await start_case(client, live, case)
            progress["done"] += 1

    async def behind() -> None:
        # The projection's progress, for the backlog check (one query at a time).
        while True:
            progress["routed"] = await db.count(ROUTED_SQL)
            await asyncio.sleep(0.5)

    async def report() -> None:
        while True:
            await asyncio.sleep(30)
            el = time.monotonic() - t0
            print(
                f"  filling: {progress['done']}/{len(planned)} cases started in {el:.0f} s "
                f"({progress['done'] / el:.2f}/s), {progress['routed']} routed; "
                f"load {load_average()}"
            )

    helpers = [asyncio.create_task(report()), asyncio.create_task(behind())]
    try:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(planned)))
    finally:
        for h in helpers:
            h.cancel()
    out.wall = time.monotonic() - t0
    return out


async def wait_for(
    what: str,
    db: ReadModel,
    sql: str,
    want: int,
    worker: asyncio.Task[None],
    give_up: float,
    stall: float = math.inf,
) -> int:
    """Until ``sql`` counts ``want``, the count has not moved for ``stall`` s, or
    ``give_up`` (monotonic) has passed; prints progress every 30 s."""
    next_report = time.monotonic() + 30
    last, moved = -1, time.monotonic()
    while True:
        if worker.done():
            raise BenchError(f"the worker stopped: {worker.exception()!r}")
        have = await db.count(sql)
        now = time.monotonic()
        if have != last:
            last, moved = have, now
        if have >= want:
            return have
        if now > give_up or now - moved > stall:
            print(f"  stopped waiting: {have}/{want} {what}")
            return have
        if now >= next_report:
            print(f"  {datetime.now(UTC):%H:%M:%S}Z  {have}/{want} {what}; load {load_average()}")
            next_report = now + 30
        await asyncio.sleep(POLL)


def proc_rss(pid: int | None) -> float:
    """Resident memory in MiB of a process (Linux), NaN when unknown."""
    if pid is None:
        return math.nan
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return math.nan


def fmt(v: float, digits: int = 2) -> str:
    return "-" if math.isnan(v) else f"{v:,.{digits}f}"


def stats(name: str, values: Sequence[float]) -> list[str]:
    return [
        name,
        str(len(values)),
        fmt(min(values) if values else math.nan),
        fmt(med(values)),
        fmt(pct(values, 90)),
        fmt(pct(values, 99)),
        fmt(max(values) if values else math.nan),
    ]


STATS = ["", "count", "min s", "median s", "p90 s", "p99 s", "max s"]


async def run(args: Args) -> int:
    section("appeals benchmark: live clocks coming due together (one embedded stack)")
    print(
        table(
            ["fact", "value"],
            [
                ["machine", f"{os.cpu_count()} cores, {cpu_model()}"],
                ["system", f"{platform.system()} {platform.release()} {platform.machine()}"],
                ["python", platform.python_version()],
                ["temporalio (SDK)", temporalio.__version__],
                ["temporal CLI (dev server)", temporal_version()],
                ["SQLite", sqlite3.sqlite_version],
                ["load average at start (1, 5, 15 min)", load_average()],
            ],
        )
    )
    rules = load_ruleset(DEFAULT_RULES_DIR)
    stamp = time.strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory(prefix="appeals-clocks-", ignore_cleanup_errors=True) as t:
        tmp = Path(t)
        async with stack(args, tmp) as (live, worker):
            rules = load_ruleset(live.rules_dir)
            planned = plan_cases(rules, random.Random(args.seed), f"clk-{stamp}-", args.clocks)
            want = sum(p.clocks for p in planned)
            print(
                f"\nparameters: {want} clocks (asked {args.clocks}) on {len(planned)} urgent "
                f"cases, due over {args.window:g} min starting about {args.lead:g} min after "
                f"the fill (cases started at {args.fill_rate:g}/s); start concurrency "
                f"{args.concurrency}; seed {args.seed}"
            )
            print(f"stack: dev server 127.0.0.1:{live.embedded_port}, data {live.data_dir}")
            print(worker_line(live))
            server = server_pid()
            client = await connect(live)
            db = ReadModel(live.db_url)
            try:
                f = await fill(client, live, db, planned, args)
                print(
                    f"filled: {f.cases} cases started in {f.wall:.0f} s "
                    f"({f.cases / f.wall:.2f}/s); load {load_average()}"
                )
                live_clocks = await wait_for(
                    "clocks live in the read model",
                    db,
                    BENCH_CLOCKS_SQL,
                    want,
                    worker,
                    time.monotonic() + 1800,
                    stall=60,
                )
                rss_live = (proc_rss(server), proc_rss(os.getpid()))
                deadlines, _, _ = await db.rows()
                points = {
                    k: p
                    for k, p in points_of(deadlines).items()
                    if p.kind == "breach" and str(p.plan).startswith(PLAN_PREFIX)
                }
                now = datetime.now(UTC)
                dues = sorted(p.at for p in points.values())
                early = sum(1 for d in dues if d <= now)
                print(
                    f"{live_clocks} clocks live at {now:%H:%M:%S}Z; rungs due "
                    f"{dues[0].astimezone(UTC):%H:%M:%S}Z … {dues[-1].astimezone(UTC):%H:%M:%S}Z;"
                    f" {early} already due; "
                    f"RSS server {fmt(rss_live[0], 0)} MiB, this process {fmt(rss_live[1], 0)} MiB"
                )
                give_up = time.monotonic() + max(0.0, (dues[-1] - now).total_seconds()) + args.grace
                await wait_for("rung e-mails sent", db, SENT_SQL, len(points), worker, give_up)
                await asyncio.sleep(SETTLE)
                deadlines, outbox, audit = await db.rows()
                eml = await asyncio.to_thread(read_eml, live.mail_dir)
                tasks = sorted({k.task for k in points})
                sampled = random.Random(1).sample(tasks, min(60, len(tasks)))
                health = await task_health(client, sampled, dues[0])
                rss_end = (proc_rss(server), proc_rss(os.getpid()))
            finally:
                db.close()
    code = report(args, f, points_of(deadlines), outbox, audit, eml, rss_live, rss_end)
    print_health(health, len(sampled))
    return code


@dataclass
class Health:
    """What sampled task workflows' histories say about the worker, from the first due
    instant on: how long their workflow tasks waited, and which ones timed out or failed."""

    queued_s: list[float] = field(default_factory=list)
    run_s: list[float] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)


async def task_health(client: Client, task_ids: Sequence[str], since: datetime) -> Health:
    h = Health()
    gate = asyncio.Semaphore(8)
    cut = since.timestamp()

    async def one(wid: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(wid).fetch_history()
        by_id = {e.event_id: e for e in history.events}
        for e in history.events:
            at = e.event_time.ToDatetime(tzinfo=UTC).timestamp()
            if at < cut:
                continue
            t = e.event_type
            if t == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                sched = by_id[e.workflow_task_started_event_attributes.scheduled_event_id]
                h.queued_s.append(at - sched.event_time.ToDatetime(tzinfo=UTC).timestamp())
            elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                st = by_id[e.workflow_task_completed_event_attributes.started_event_id]
                h.run_s.append(at - st.event_time.ToDatetime(tzinfo=UTC).timestamp())
            elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                kind = TimeoutType.Name(e.workflow_task_timed_out_event_attributes.timeout_type)
                h.problems[f"workflow task timed out ({kind.removeprefix('TIMEOUT_TYPE_')})"] += 1
            elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                cause = WorkflowTaskFailedCause.Name(e.workflow_task_failed_event_attributes.cause)
                h.problems[
                    f"workflow task failed ({cause.removeprefix('WORKFLOW_TASK_FAILED_CAUSE_')})"
                ] += 1

    await asyncio.gather(*(one(w) for w in task_ids))
    return h


def print_health(h: Health, sampled: int) -> None:
    section(f"3. The worker, from {sampled} sampled task histories (from the first due instant)")
    rows = [stats("workflow task queued", h.queued_s), stats("workflow task run", h.run_s)]
    print(table(STATS, rows, right=range(1, 7)))
    if h.problems:
        for k, v in sorted(h.problems.items()):
            print(f"  {k}: {v}")
    else:
        print("  no workflow task timed out or failed")


def report(
    args: Args,
    f: Fill,
    all_points: dict[Key, Point],
    outbox: list[OutboxRow],
    audit: list[EventRow],
    eml: list[tuple[str, str, float]],
    rss_live: tuple[float, float],
    rss_end: tuple[float, float],
) -> int:
    rungs = {
        k: p
        for k, p in all_points.items()
        if p.kind == "breach" and str(p.plan).startswith(PLAN_PREFIX)
    }
    by_id = {r.id: r for r in outbox}
    late: list[float] = []
    fired: list[float] = []
    by_minute: dict[str, list[float]] = {}
    first_due = min(p.at for p in rungs.values())
    for k, p in rungs.items():
        row = by_id.get(k.notification)
        if p.fired_at is not None:
            fired.append((p.fired_at - p.at).total_seconds())
        if row is None or row.sent_at is None:
            continue
        sent = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=UTC)
        x = (sent - p.at).total_seconds()
        late.append(x)
        minute = int((p.at - first_due) / timedelta(minutes=1))
        by_minute.setdefault(f"due in minute {minute + 1} of the window", []).append(x)

    section(f"1. Rung e-mails: outbox.sent_at minus due instant ({len(rungs)} rungs)")
    rows = [stats("all rungs", late), stats("due → fired (timer + task)", fired)]
    rows += [stats(name, v) for name, v in sorted(by_minute.items())]
    print(table(STATS, rows, right=range(1, 7)))
    verdict_med = med(late) <= 2.0 if late else False
    verdict_max = (max(late) <= 10.0) if late else False
    print(
        f"\ntarget median ≤ 2 s: {'met' if verdict_med else 'MISSED'}; "
        f"max ≤ 10 s: {'met' if verdict_max else 'MISSED'}"
    )
    print(
        f"fill: {f.cases} cases in {f.wall:.0f} s ({f.cases / f.wall:.2f}/s); plan periods used "
        + ", ".join(f"{m}m × {n}" for m, n in sorted(f.minutes.items()))
        + (f"; {f.clamped} cases too late for the window (1m)" if f.clamped else "")
    )
    print(
        f"RSS when every clock was live: server {fmt(rss_live[0], 0)} MiB, worker process "
        f"{fmt(rss_live[1], 0)} MiB; at the end: {fmt(rss_end[0], 0)} / {fmt(rss_end[1], 0)} MiB"
    )

    section("2. Every rung exactly once?")
    expected = {k.notification for k in rungs}
    breach = [r for r in outbox if r.kind == "breach" and r.id in expected]
    not_sent = [r.id for r in breach if r.status != "sent"]
    retried = [r.id for r in breach if r.attempts > 1]
    missing = expected - {r.id for r in breach}
    esc = Counter(
        (
            e.task_id,
            json.loads(e.data or "{}").get("clock"),
            json.loads(e.data or "{}").get("event"),
        )
        for e in audit
    )
    esc_keys = {(k.task, k.clock, k.event) for k in rungs}
    esc_dup = sum(1 for k, n in esc.items() if k in esc_keys and n > 1)
    esc_missing = sum(1 for k in esc_keys if esc[k] == 0)
    sink_n = Counter(d.notification for d in DELIVERIES if d.notification in expected)
    sink_m = Counter(d.message_id for d in DELIVERIES if d.notification in expected)
    eml_n = Counter(n for n, _, _ in eml if n in expected)
    eml_m = Counter(m for n, m, _ in eml if n in expected)
    rows = [
        ["rungs scheduled (clocks on the bench plans)", str(len(expected))],
        [
            "outbox rows / sent / not sent / missing",
            f"{len(breach)} / {len(breach) - len(not_sent)} / {len(not_sent)} / {len(missing)}",
        ],
        ["sends that needed more than one attempt", str(len(retried))],
        ["'escalated' audit rows: missing / duplicated keys", f"{esc_missing} / {esc_dup}"],
        [
            "sink deliveries / distinct notification ids / distinct Message-IDs",
            f"{sum(sink_n.values())} / {len(sink_n)} / {len(sink_m)}",
        ],
        [
            ".eml files / distinct notification ids / distinct Message-IDs",
            f"{sum(eml_n.values())} / {len(eml_n)} / {len(eml_m)}",
        ],
        ["all e-mails at the sink (new-task mails included)", str(len(DELIVERIES))],
    ]
    print(table(["check", "value"], rows, right=[1]))
    print(
        f"\nload average at the end (1, 5, 15 min): {load_average()} on {os.cpu_count()} cores "
        "shared with other users' work"
    )
    dup = sum(1 for n in sink_n.values() if n > 1) + sum(1 for n in eml_n.values() if n > 1)
    if not_sent or missing or dup or esc_dup or esc_missing:
        print("\nFAILURES: a rung not sent, missing or sent twice (see above)")
        return 1
    print("\nevery rung e-mail was sent exactly once.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
