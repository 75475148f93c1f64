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

``--data-dir DIR`` keeps the stack (the server's database, the read model, the codec key)
in DIR and the fill's progress in ``DIR/fill.json``, so that a fill longer than one
sitting goes on where it stopped: run the same command again and it restarts the server
on the same database and opens the next cases. Each sitting times a sample of its own
(clocks due after its fill), with every case opened so far held; clocks of cases that came
due while the server was stopped fire when it starts again.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import temporalio
from sqlmodel import Session, col, select
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
from bench.stack import BenchError, free_base_port, run_bench, temporal_version, worker_line
from bench.stack import stack_and_worker as engine_stack
from bench.throughput import PlannedCase, make_form, server_pid, start_case
from client import connect
from db.tables import DeadlineRow, OutboxRow, TaskRow
from models.case import case_id_for
from models.intake import IntakeForm
from models.routing import RoutingFacts
from routing_rules import RuleSet, load_ruleset
from services.cases import check_against_directory
from services.errors import ServiceError
from settings import Settings

CLERKS = ("clerk.li", "clerk.chen", "clerk.huang")


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
    data_dir: Path | None


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
    p.add_argument(
        "--data-dir", type=Path, default=None, help="keep the stack here and resume a fill"
    )
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
        ns.data_dir,
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
        with contextlib.ExitStack() as temp:
            if args.data_dir is None:
                t = temp.enter_context(
                    tempfile.TemporaryDirectory(prefix="appeals-open-", ignore_cleanup_errors=True)
                )
                data = Path(t)
            else:
                data = args.data_dir.resolve()
                data.mkdir(parents=True, exist_ok=True)
            progress = Progress.load_or_new(data, args)
            rules_dir = data / "rules" if (data / "rules").is_dir() else bench_rules(data)
            # A fill kept for later sittings keeps its port; a one-off run takes any free
            # one (engine_stack tries three).
            port = progress.port if args.data_dir is not None else args.port
            async with engine_stack(port, data, rules_dir=rules_dir) as (live, w):
                print(f"stack: dev server 127.0.0.1:{live.embedded_port}, data {live.data_dir}")
                print(worker_line(live))
                if progress.sittings:
                    print(f"resuming the fill: sitting {len(progress.sittings) + 1}, {progress}")
                db = ReadModel(live.db_url)
                try:
                    return await measure(args, live, w, db, progress)
                finally:
                    db.close()
    finally:
        setattr(devstack, "MailSink", original)  # noqa: B010


PROGRESS_FILE = "fill.json"


@dataclass
class Progress:
    """How far a fill has come, kept in the data directory after every note so that the
    next sitting (``--data-dir``) opens the next cases and times a sample of its own."""

    path: Path
    seed: int
    port: int
    prefix: str  # of every request id in this fill
    next: int = 0  # cases 0 … next-1 have been started (or refused for good)
    sittings: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def load_or_new(cls, data: Path, args: Args) -> Progress:
        path = data / PROGRESS_FILE
        if not path.exists():
            port = args.port if args.port is not None else free_base_port(random.Random())
            prefix = f"open-{time.strftime('%Y%m%d%H%M%S')}-"
            return cls(path, args.seed, port, prefix)
        try:
            kept = json.loads(path.read_text())
            progress = cls(
                path, int(kept["seed"]), int(kept["port"]), str(kept["prefix"]), int(kept["next"])
            )
            progress.sittings = list(kept["sittings"])
        except (ValueError, KeyError, TypeError) as e:
            raise BenchError(f"{path} is not a fill's progress ({e}); move it away") from e
        if progress.seed != args.seed:
            raise BenchError(f"{path} is a fill with --seed {progress.seed}, not {args.seed}")
        if args.port is not None:
            progress.port = args.port  # the database keeps the cases, not the port
        return progress

    def sampled_before(self) -> set[str]:
        return {str(c) for s in self.sittings for c in cast(list[str], s.get("sample", []))}

    def save(self) -> None:
        kept = {
            "seed": self.seed,
            "port": self.port,
            "prefix": self.prefix,
            "next": self.next,
            "sittings": self.sittings,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(kept, indent=1))
        tmp.replace(self.path)  # never half-written: the next sitting reads it

    def __str__(self) -> str:
        return f"{self.next} cases started so far (request ids {self.prefix}…)"


def in_sample(case_ids: Sequence[str]) -> str:
    """SQL: the deadlines of these cases' tasks on the bench's minute plans."""
    ids = ",".join(f"'{c}'" for c in case_ids)  # AP-… ids: base32, never a quote
    return (
        "deadlines d JOIN tasks t ON t.task_id = d.task_id "
        f"WHERE t.case_id IN ({ids}) AND json_extract(d.detail, '$.plan') LIKE '{PLAN_PREFIX}%'"
    )


def sample_clocks_sql(case_ids: Sequence[str]) -> str:
    return f"SELECT count(*) FROM {in_sample(case_ids)}"


def sample_sent_sql(case_ids: Sequence[str]) -> str:
    return (
        f"SELECT count(*) FROM outbox o JOIN {in_sample(case_ids)} AND o.task_id = d.task_id "
        "AND o.clock = d.clock AND o.kind = 'breach' AND o.status = 'sent'"
    )


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


async def measure(
    args: Args, live: Settings, worker: asyncio.Task[None], db: ReadModel, progress: Progress
) -> int:
    rules = load_ruleset(live.rules_dir)
    client = await connect(live)
    server = server_pid()
    temporal_db = live.data_dir / "temporal.db"
    first = progress.next
    # Sample cases are spread over the fill the worker is expected to manage.
    expected = min(args.cases - first, min(args.fill_rate, args.expect_rate) * args.minutes * 60)
    every = max(1, round(expected / args.sample))
    out = Filled()
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    due_from = args.minutes * 60 + args.lead * 60
    routed = {"n": await db.count(ROUTED_SQL)}
    held_before = routed["n"]
    sample_ids: list[str] = []
    sampled_before = progress.sampled_before()
    sitting: dict[str, object] = {
        "began": datetime.now(UTC).isoformat(timespec="seconds"),
        "from": first,
        "held_at_start": held_before,
        "sample": sample_ids,
    }
    progress.sittings.append(sitting)
    in_flight: set[int] = set()  # case indices whose start has not been answered
    i = first
    stop = asyncio.Event()

    def keep_progress() -> None:
        progress.next = min(in_flight, default=i)
        sitting.update(to=progress.next, started=out.started, seconds=round(time.monotonic() - t0))
        progress.save()

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
            keep_progress()
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
    try:
        while i < args.cases and time.monotonic() < end:
            if worker.done():
                raise BenchError(f"the worker stopped: {worker.exception()!r}")
            await asyncio.sleep(max(0.0, t0 + (i - first) / args.fill_rate - time.monotonic()))
            if held_before + out.started + len(in_flight) - routed["n"] >= args.backlog:
                await asyncio.sleep(0.2)
                continue
            # Each case's intake from its own index, so a resumed fill opens the same cases.
            form = make_form(random.Random(f"{progress.seed}:{i}"), f"{progress.prefix}{i:06d}")
            case_id = case_id_for(form.request_id)
            sample = (i - first) % every == every // 2 and case_id not in sampled_before
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
            case = PlannedCase(form, case_id, CLERKS[i % 3], "", 0)

            async def start(c: PlannedCase = case, sample: bool = sample, n: int = i) -> None:
                # Counted once the server has it: a start the server refused is no case.
                try:
                    async with gate:
                        if not await start_until_taken(client, live, c, out):
                            return
                    out.started += 1
                    if sample:
                        sample_ids.append(c.case_id)
                        out.sampled += 1
                        out.sample_clocks += sample_clocks(rules, c.form)
                finally:
                    in_flight.discard(n)

            in_flight.add(i)
            task = asyncio.create_task(start())
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        await asyncio.gather(*pending)
        out.wall = time.monotonic() - t0
        keep_progress()
        want_routed = held_before + out.started
        await wait_for("cases routed", db, ROUTED_SQL, want_routed, worker, time.monotonic() + 900)
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
        f"({out.started / out.wall:.2f}/s); {after.routed} routed in all; "
        f"{open_wf.count} workflows running"
    )
    sitting.update(routed_after=after.routed, running_workflows=open_wf.count)
    keep_progress()
    # The sample's clocks fall due now; wait for their rung e-mails.
    want = await wait_for(
        "sample clocks projected",
        db,
        sample_clocks_sql(sample_ids),
        out.sample_clocks,
        worker,
        time.monotonic() + 300,
    )
    deadlines, _ = await sample_rows(db, sample_ids)
    rungs = {
        k: p
        for k, p in points_of(deadlines).items()
        if p.kind == "breach" and str(p.plan).startswith(PLAN_PREFIX)
    }
    last_due = max((p.at for p in rungs.values()), default=datetime.now(UTC))
    wait_s = max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + 600
    sent_sql = sample_sent_sql(sample_ids)
    await wait_for(
        "sample rung e-mails sent", db, sent_sql, want, worker, time.monotonic() + wait_s
    )
    await asyncio.sleep(5)
    deadlines, outbox = await sample_rows(db, sample_ids)
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
    return report(args, out, after, end_sample, open_wf.count, rungs, outbox, held_before)


async def sample_rows(
    db: ReadModel, case_ids: Sequence[str]
) -> tuple[list[DeadlineRow], list[OutboxRow]]:
    """The sample's clocks and their e-mails, not the whole read model's (a fill held
    across sittings has hundreds of thousands)."""

    def read() -> tuple[list[DeadlineRow], list[OutboxRow]]:
        with Session(db.engine) as s:
            tasks = list(s.exec(select(TaskRow.task_id).where(col(TaskRow.case_id).in_(case_ids))))
            deadlines = list(s.exec(select(DeadlineRow).where(col(DeadlineRow.task_id).in_(tasks))))
            outbox = list(s.exec(select(OutboxRow).where(col(OutboxRow.task_id).in_(tasks))))
        return deadlines, outbox

    return await asyncio.to_thread(read)


def report(
    args: Args,
    out: Filled,
    after: Sample,
    end: Sample,
    running: int,
    rungs: dict[Key, Point],
    outbox: list[OutboxRow],
    held_before: int,
) -> int:
    section("1. Filling: start rate and memory")
    if held_before:
        print(f"{held_before} cases routed in earlier sittings, held by the server at the start")
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
    if after.routed < args.cases:
        print(
            f"N = {after.routed}, not {args.cases}: this sitting stopped after {args.minutes:g} "
            "min (the worker's rate on this machine bounds it); with --data-dir the same "
            "command goes on from here."
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
