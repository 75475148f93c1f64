"""Many open cases with live clocks on one server and one worker: memory, the start
rate while filling, and whether a sample of clocks still fires on time.

Run from the project root::

    .venv/bin/python bench/open_cases.py [--cases 100000] [--minutes 30] [--sample 200]

One embedded stack (``devstack.embedded_stack``: Temporal dev server, SMTP sink, SQLite
read model) on a free port and the real worker in this process, on a copy of the sample
deployment with ``bench/clocks.py``'s minute plans added. Cases are opened as
``appeals open`` opens them, with realistic intakes on the rules' own plans (clocks of
working days: live, not due for days), at most ``--fill-rate`` a second and only while
fewer than ``--backlog`` started cases are not yet routed, until N are open or
``--minutes`` have passed. Every N/sample-th case is urgent and on a minute plan chosen
so that its clocks fall due ``--lead`` minutes after the fill ends: those are the sample,
made at every stage of the fill and firing once the server and the worker hold every
case. Every 30 s it notes the cases routed, the RSS of the server and of this process
(the worker, its client and the benchmark), and the size of the server's database.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import temporalio
from temporalio.client import Client
from temporalio.service import RPCError

import devstack
from bench.clocks import (
    CLOCKS_PER_TASK,
    MAX_MINUTES,
    PLAN_PREFIX,
    ROUTED_SQL,
    STATS,
    ReadModel,
    bench_rules,
    fmt,
    proc_rss,
    stats,
    wait_for,
)
from bench.escalation import DELIVERIES, CountingSink, Key, Point, points_of
from bench.report import cpu_model, load_average, section, table
from bench.stack import BenchError, run_bench, temporal_version, worker_line
from bench.stack import stack_and_worker as engine_stack
from bench.throughput import PlannedCase, make_form, server_pid, start_case
from client import connect
from db.tables import OutboxRow
from models.case import case_id_for
from models.intake import IntakeForm
from models.routing import RoutingFacts
from routing_rules import RuleSet, load_ruleset
from services.cases import check_against_directory
from services.errors import ServiceError
from settings import Settings

CLERKS = ("clerk.li", "clerk.chen", "clerk.huang")
SAMPLE_SENT_SQL = (
    "SELECT count(*) FROM outbox o JOIN deadlines d ON o.task_id = d.task_id "
    f"AND o.clock = d.clock WHERE o.kind = 'breach' AND o.status = 'sent' "
    f"AND json_extract(d.detail, '$.plan') LIKE '{PLAN_PREFIX}%'"
)
SAMPLE_CLOCKS_SQL = (
    f"SELECT count(*) FROM deadlines WHERE json_extract(detail, '$.plan') LIKE '{PLAN_PREFIX}%'"
)


@dataclass
class Args:
    cases: int
    minutes: float
    fill_rate: float
    expect_rate: float
    backlog: int
    sample: int
    lead: float
    concurrency: int
    port: int | None
    seed: int


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=100_000, help="open cases wanted (N)")
    p.add_argument("--minutes", type=float, default=30.0, help="longest fill, in minutes")
    p.add_argument("--fill-rate", type=float, default=10.0, help="cases started a second, at most")
    p.add_argument("--expect-rate", type=float, default=2.0, help="cases/s, to spread the sample")
    p.add_argument("--backlog", type=int, default=30, help="started cases not yet routed, at most")
    p.add_argument("--sample", type=int, default=200, help="cases whose clocks are timed")
    p.add_argument("--lead", type=float, default=3.0, help="minutes from the fill's end to due")
    p.add_argument("--concurrency", type=int, default=20, help="start calls in flight")
    p.add_argument("--port", type=int, default=None, help="base port P (default: a free one)")
    p.add_argument("--seed", type=int, default=3, help="seed of the intakes (default 3)")
    ns = p.parse_args(argv)
    a = Args(
        ns.cases,
        ns.minutes,
        ns.fill_rate,
        ns.expect_rate,
        ns.backlog,
        ns.sample,
        ns.lead,
        ns.concurrency,
        ns.port,
        ns.seed,
    )
    if min(a.cases, a.backlog, a.sample) < 1 or min(a.minutes, a.fill_rate, a.expect_rate) <= 0:
        p.error("--cases, --backlog, --sample ≥ 1; --minutes, --fill-rate, --expect-rate > 0")
    if a.minutes + a.lead + 1 > MAX_MINUTES:
        p.error(f"--minutes + --lead must stay under {MAX_MINUTES - 1}")
    return a


@dataclass
class Sample:
    at: float  # seconds into the fill
    routed: int
    server_mib: float
    worker_mib: float
    db_mib: float
    load: str


@dataclass
class Filled:
    started: int = 0  # accepted by the server, not merely sent
    refused: list[str] = field(default_factory=list)  # each refused attempt's message
    unstarted: int = 0  # refused START_TRIES times: never opened
    sampled: int = 0
    sample_clocks: int = 0
    wall: float = 0.0
    samples: list[Sample] = field(default_factory=list)


def sample_clocks(rules: RuleSet, form: IntakeForm) -> int:
    """The bench clocks a sample case gets: five on its lead and on each co-handler
    (an external hand-off or a platform liaison keeps its own plan)."""
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
    return CLOCKS_PER_TASK * sum(1 for o in (d.lead, *d.co) if not o.external)


def file_mib(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            total += p.stat().st_size
    return total / 2**20


async def run(args: Args) -> int:
    section("appeals benchmark: open cases with live clocks (one server, one worker)")
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
    print(
        f"\nparameters: up to {args.cases} cases within {args.minutes:g} min, at most "
        f"{args.fill_rate:g}/s and {args.backlog} not yet routed; a sample of {args.sample} "
        f"urgent cases on minute plans due {args.lead:g} min after the fill; seed {args.seed}"
    )
    original = devstack.MailSink
    setattr(devstack, "MailSink", CountingSink)  # noqa: B010 (embedded_stack looks it up)
    try:
        with tempfile.TemporaryDirectory(prefix="appeals-open-", ignore_cleanup_errors=True) as t:
            tmp = Path(t)
            async with engine_stack(args.port, tmp, rules_dir=bench_rules(tmp)) as (live, w):
                print(f"stack: dev server 127.0.0.1:{live.embedded_port}, data {live.data_dir}")
                print(worker_line(live))
                db = ReadModel(live.db_url)
                try:
                    return await measure(args, live, w, db)
                finally:
                    db.close()
    finally:
        setattr(devstack, "MailSink", original)  # noqa: B010


START_TRIES = 5


async def start_until_taken(client: Client, s: Settings, c: PlannedCase, out: Filled) -> bool:
    """Start a case as a clerk's screen does after a 503 ("try again shortly"): again,
    with the same request id (so never twice), a few times. The dev server under this
    load once answered a start with "Namespace default is not found" for a moment; the
    start was lost from the count and the fill waited for a case that never existed."""
    for attempt in range(START_TRIES):
        try:
            await start_case(client, s, c)
            return True
        except RPCError as e:
            out.refused.append(e.message)
            await asyncio.sleep(1 + attempt)
    out.unstarted += 1
    return False


async def measure(args: Args, live: Settings, worker: asyncio.Task[None], db: ReadModel) -> int:
    rules = load_ruleset(live.rules_dir)
    rng = random.Random(args.seed)
    client = await connect(live)
    server = server_pid()
    temporal_db = live.data_dir / "temporal.db"
    # Sample cases are spread over the fill the worker is expected to manage.
    expected = min(args.cases, min(args.fill_rate, args.expect_rate) * args.minutes * 60)
    every = max(1, round(expected / args.sample))
    out = Filled()
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    due_from = args.minutes * 60 + args.lead * 60
    routed = {"n": 0}
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            routed["n"] = await db.count(ROUTED_SQL)
            await asyncio.sleep(0.5)

    async def note() -> None:
        while not stop.is_set():
            out.samples.append(
                Sample(
                    time.monotonic() - t0,
                    routed["n"],
                    proc_rss(server),
                    proc_rss(os.getpid()),
                    file_mib(temporal_db),
                    load_average(),
                )
            )
            s = out.samples[-1]
            print(
                f"  {s.at:5.0f} s  {out.started} started, {s.routed} routed; RSS server "
                f"{fmt(s.server_mib, 0)} MiB, worker {fmt(s.worker_mib, 0)} MiB; temporal.db "
                f"{fmt(s.db_mib, 0)} MiB; load {s.load}"
            )
            try:
                await asyncio.wait_for(stop.wait(), 30)
            except TimeoutError:
                pass

    gate = asyncio.Semaphore(args.concurrency)
    pending: set[asyncio.Task[None]] = set()
    helpers = [asyncio.create_task(watch()), asyncio.create_task(note())]
    prefix = f"open-{time.strftime('%Y%m%d%H%M%S')}-"
    try:
        i = 0
        while i < args.cases and time.monotonic() < end:
            if worker.done():
                raise BenchError(f"the worker stopped: {worker.exception()!r}")
            await asyncio.sleep(max(0.0, t0 + i / args.fill_rate - time.monotonic()))
            if i - routed["n"] >= args.backlog:
                await asyncio.sleep(0.2)
                continue
            form = make_form(rng, f"{prefix}{i:06d}")
            sample = i % every == every // 2
            if sample:
                # A sample case: urgent (mailed at the crossing instant), on the minute
                # plan that puts its clocks just after the fill's end.
                minutes = max(1, math.ceil((due_from - (time.monotonic() - t0)) / 60))
                form = form.model_copy(
                    update={"urgent": True, "sla_plan": f"{PLAN_PREFIX}{minutes}"}
                )
            try:
                check_against_directory(form, rules)
            except ServiceError as e:
                raise BenchError(f"generated an intake the directory refuses: {e}") from e
            case = PlannedCase(form, case_id_for(form.request_id), CLERKS[i % 3], "", 0)

            async def start(c: PlannedCase = case, sample: bool = sample) -> None:
                # Counted once the server has it: a start the server refused is no case.
                async with gate:
                    if not await start_until_taken(client, live, c, out):
                        return
                out.started += 1
                if sample:
                    out.sampled += 1
                    out.sample_clocks += sample_clocks(rules, c.form)

            task = asyncio.create_task(start())
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        await asyncio.gather(*pending)
        out.wall = time.monotonic() - t0
        await wait_for("cases routed", db, ROUTED_SQL, out.started, worker, time.monotonic() + 900)
        stop.set()
    finally:
        stop.set()
        for h in helpers:
            h.cancel()
    after = Sample(
        time.monotonic() - t0,
        await db.count(ROUTED_SQL),
        proc_rss(server),
        proc_rss(os.getpid()),
        file_mib(temporal_db),
        load_average(),
    )
    open_wf = await client.count_workflows("ExecutionStatus = 'Running'")
    print(
        f"filled: {out.started} cases started in {out.wall:.0f} s "
        f"({out.started / out.wall:.2f}/s); {after.routed} routed; "
        f"{open_wf.count} workflows running"
    )
    # The sample's clocks fall due now; wait for their rung e-mails.
    want = await wait_for(
        "sample clocks projected",
        db,
        SAMPLE_CLOCKS_SQL,
        out.sample_clocks,
        worker,
        time.monotonic() + 300,
    )
    deadlines, _, _ = await db.rows()
    rungs = {
        k: p
        for k, p in points_of(deadlines).items()
        if p.kind == "breach" and str(p.plan).startswith(PLAN_PREFIX)
    }
    last_due = max(p.at for p in rungs.values())
    wait_s = max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + 600
    await wait_for(
        "sample rung e-mails sent", db, SAMPLE_SENT_SQL, want, worker, time.monotonic() + wait_s
    )
    await asyncio.sleep(5)
    deadlines, outbox, _ = await db.rows()
    fired = points_of(deadlines)  # the same rungs, now with their fired_at
    rungs = {k: fired.get(k, p) for k, p in rungs.items()}
    end_sample = Sample(
        time.monotonic() - t0,
        after.routed,
        proc_rss(server),
        proc_rss(os.getpid()),
        file_mib(temporal_db),
        load_average(),
    )
    return report(args, out, after, end_sample, open_wf.count, rungs, outbox)


def report(
    args: Args,
    out: Filled,
    after: Sample,
    end: Sample,
    running: int,
    rungs: dict[Key, Point],
    outbox: list[OutboxRow],
) -> int:
    section("1. Filling: start rate and memory")
    rows = []
    prev: Sample | None = None
    for s in [*out.samples, after]:
        rate = "-" if prev is None else fmt((s.routed - prev.routed) / max(s.at - prev.at, 1e-9))
        rows.append(
            [
                f"{s.at:.0f}",
                str(s.routed),
                rate,
                fmt(s.server_mib, 0),
                fmt(s.worker_mib, 0),
                fmt(s.db_mib, 0),
                s.load,
            ]
        )
        prev = s
    headers = [
        "s",
        "routed",
        "routed/s",
        "server RSS MiB",
        "worker RSS MiB",
        "temporal.db MiB",
        "load",
    ]
    print(table(headers, rows, right=range(0, 6)))
    print(
        f"\n{out.started} cases started in {out.wall:.0f} s ({out.started / out.wall:.2f}/s); "
        f"{running} workflows running afterwards (cases, tasks, clusters). At the end: server "
        f"RSS {fmt(end.server_mib, 0)} MiB, worker {fmt(end.worker_mib, 0)} MiB, "
        f"temporal.db {fmt(end.db_mib, 0)} MiB."
    )
    if out.refused:
        print(
            f"The server refused {len(out.refused)} start attempts (each tried again, as a "
            f"clerk does after a 503); {out.unstarted} cases never started. First refusal: "
            f"{out.refused[0]}"
        )
    if out.started < args.cases:
        print(
            f"N = {out.started}, not {args.cases}: the fill stopped after {args.minutes:g} min "
            "(the worker's rate on this shared machine bounds it)."
        )

    section(f"2. The sample: {len(rungs)} rung e-mails of {out.sampled} cases")
    by_id = {r.id: r for r in outbox}
    late, fired = [], []
    for k, p in rungs.items():
        if p.fired_at is not None:
            fired.append((p.fired_at - p.at).total_seconds())
        row = by_id.get(k.notification)
        if row is not None and row.sent_at is not None:
            sent = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=UTC)
            late.append((sent - p.at).total_seconds())
    print(table(STATS, [stats("sent − due", late), stats("fired − due", fired)], right=range(1, 7)))
    sink = {d.notification for d in DELIVERIES}
    dup = len([d.notification for d in DELIVERIES]) - len(sink)
    missing = [k for k in rungs if k.notification not in sink]
    print(
        f"\nsample rungs delivered: {len(rungs) - len(missing)}/{len(rungs)}; "
        f"deliveries at the sink: {len(DELIVERIES)} ({dup} duplicated notification ids)"
    )
    print(
        f"\nload average at the end (1, 5, 15 min): {load_average()} on {os.cpu_count()} "
        "cores shared with other users' work"
    )
    return 1 if missing or dup else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
