"""Task actions under load: accept, note, complete and return through the HTTP API (the
path the CLI takes: it is an API client) while new cases are opened at a steady rate,
each beside a bare Update on the same server at the same moment.

Run from the project root::

    .venv/bin/python bench/actions.py [--tasks M] [--rate R] [--seed S] [--port P]
        [--worker-processes K] [--api-process]

One embedded stack and the real worker in this process (``bench.stack``), or with
``--worker-processes K`` the worker as K processes of their own (``worker.py``, as
deployed: the API's process runs no workflows); the FastAPI app served by uvicorn on a
free 127.0.0.1 port in this process, or with ``--api-process`` by ``appeals serve``, a
process of its own as deployed (then the Update/rest split below is not measured). After
a warm-up it opens enough cases for M tasks, waits until they are projected, then, while
a background loop opens R new cases a second (default 2), takes the M tasks one at a
time (leads' and co-handlers' alternately): ``accept``, ``note``, then ``complete`` (a
co-handler) or ``return`` (a lead), each through ``POST /api/v1/tasks/{id}/{verb}`` with
the handler's token. Right after each action the same handler reads the task (``GET
/api/v1/tasks/{id}``) and the benchmark checks that the read shows the action
(read-your-writes). After each action, one trivial Update on an open ``Echo`` workflow
is timed too: the floor Temporal sets at that moment. Each action is split in two: its
own Update RPC (a client interceptor on the app's Temporal client) and the rest (the
API's own work and read-your-writes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import API_PREFIX, create_app
from auth.accounts import seed_dev
from bench.api_latency import Handlers, Target, UpdateClock, pick_targets, served
from bench.chaos.parts import free_port
from bench.report import pct, section, table
from bench.stack import (
    BenchError,
    WorkerProcess,
    add_worker_processes,
    api_answers,
    run_bench,
    stack_and_worker,
    stop_process,
    worker_pids,
)
from bench.throughput import (
    WARMUP_CASES,
    CpuWindow,
    E,
    ReadModel,
    bounded,
    load_baseline,
    ns,
    plan_cases,
    server_pid,
    start_case,
    wait_projected,
)
from client import connect
from db.engine import make_engine, migrate
from routing_rules import load_ruleset
from services.context import Context
from services.temporal import UPDATE_TIMEOUT
from settings import Settings
from worker import freeze_startup_heap

NOTE_TEXT = "已电话联系当事人，核实诉求情况。"
REPLY_TEXT = "已协调平台退还押金，当事人表示认可。"
RETURN_TEXT = "诉求事项不属于本单位职责，建议转交市场监管部门。"
VERBS = ("accept", "note", "complete", "return")
EXPECTED = {"accept": "accepted", "note": "accepted", "complete": "completed", "return": "returned"}


@dataclass
class Row:
    ms: list[float] = field(default_factory=list)
    update: list[float] = field(default_factory=list)  # the action's own Update RPC
    bare: list[float] = field(default_factory=list)  # the Update floor right after each
    sent: list[tuple[float, str]] = field(default_factory=list)  # (epoch s, task) of each
    errors: list[str] = field(default_factory=list)
    stale_reads: int = 0


@dataclass
class Load:
    """Cases opened in the background while actions are timed."""

    rate: float
    started: int = 0
    late_starts: int = 0
    t0: float = 0.0
    t1: float = 0.0


async def open_at_rate(
    client: Client, live: Settings, rules_seed: int, stamp: str, load: Load, stop: asyncio.Event
) -> None:
    rng = random.Random(rules_seed + 1)
    rules = load_ruleset(live.rules_dir)
    load.t0 = load.t1 = time.perf_counter()
    if load.rate <= 0:
        return  # no background load: the actions alone
    pending: set[asyncio.Task[None]] = set()
    for i in range(100_000):
        # One at a time, just before it is due: planning thousands at once would hold
        # the event loop (and the worker and the API on it) for seconds.
        (c,) = plan_cases(rules, rng, f"bench-act-{stamp}-bg-{i:05d}-", 1)
        due = load.t0 + i / load.rate
        delay = due - time.perf_counter()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
        else:
            load.late_starts += 1
        if stop.is_set():
            break
        t = asyncio.create_task(start_case(client, live, c))
        pending.add(t)
        t.add_done_callback(pending.discard)
        load.started += 1
    load.t1 = time.perf_counter()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def act(
    people: Handlers,
    t: Target,
    verb: str,
    body: dict[str, object],
    row: Row,
    echo: object,
    clock: UpdateClock,
) -> None:
    c = people.clients[t.handler]
    url = f"{API_PREFIX}/tasks/{t.task_id}"
    clock.last_ms = float("nan")
    sent_at = time.time()
    t0 = time.perf_counter()
    try:
        r = await c.post(f"{url}/{verb}", json=body)
    except httpx.HTTPError as e:
        row.errors.append(f"{verb} {t.task_id} as {t.handler}: {type(e).__name__}")
        return
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        row.errors.append(f"{verb} {t.task_id} as {t.handler}: HTTP {r.status_code} {r.text[:160]}")
        return
    row.ms.append(ms)
    row.update.append(clock.last_ms)
    row.sent.append((sent_at, t.task_id))
    # Read-your-writes: the actor reads the task at once and must see the change.
    seen = await c.get(url)
    status = seen.json().get("task", seen.json()).get("status") if seen.status_code == 200 else None
    if status != EXPECTED[verb]:
        row.stale_reads += 1
        row.errors.append(f"{verb} {t.task_id}: read back status {status!r}")
    if verb == "note" and NOTE_TEXT not in seen.text:
        row.stale_reads += 1
        row.errors.append(f"note {t.task_id}: the note is not in the read-back")
    t1 = time.perf_counter()
    await echo.execute_update("ping", "x", rpc_timeout=UPDATE_TIMEOUT)  # type: ignore[attr-defined]
    row.bare.append((time.perf_counter() - t1) * 1000)


async def slowest_histories(client: Client, rows: dict[str, Row]) -> list[str]:
    """What each kind's slowest action's task workflow did while the action waited: its
    history's events from a second before the action to its answer, in ms from the send,
    so that a long wait shows whose turn it was (a workflow task, an activity, nothing)."""
    lines: list[str] = []
    for verb, r in rows.items():
        if not r.ms:
            continue
        i = max(range(len(r.ms)), key=r.ms.__getitem__)
        at, task_id = r.sent[i]
        history = await client.get_workflow_handle(task_id).fetch_history()
        lines.append(f"{verb} {r.ms[i]:.0f} ms on {task_id}:")
        for e in history.events:
            offset = ns(e) / 1e6 - at * 1000
            if -1000 <= offset <= r.ms[i] + 50:
                kind = E.Name(e.event_type).removeprefix("EVENT_TYPE_").lower()
                lines.append(f"  {offset:+8.1f} ms  #{e.event_id} {kind}")
    return lines


def shown(ms: float) -> str:
    """A figure in ms, or "-" where it was not measured (nan)."""
    return "-" if math.isnan(ms) else f"{ms:.1f}"


def slowest(r: Row) -> str:
    """The slowest action's own Update and the rest, to tell the engine's wait from the
    API's."""
    if not r.ms:
        return "-"
    i = max(range(len(r.ms)), key=r.ms.__getitem__)
    if math.isnan(r.update[i]):
        return "-"  # the API in a process of its own: its Update is not timed
    return f"{r.update[i]:.0f} + {r.ms[i] - r.update[i]:.0f}"


async def run_actions(
    targets: Sequence[Target],
    people: Handlers,
    echo: object,
    owner_of: dict[str, str],
    clock: UpdateClock,
) -> dict[str, Row]:
    rows = {v: Row() for v in VERBS}
    for t in targets:
        await act(people, t, "accept", {}, rows["accept"], echo, clock)
        await act(people, t, "note", {"text": NOTE_TEXT}, rows["note"], echo, clock)
        # A co-handler completes (its opinion); a lead returns the case (退单): a lead
        # with co-handlers cannot complete before their opinions are in.
        if t.role == "co":
            body: dict[str, object] = {"outcome": "resolved", "reply": REPLY_TEXT}
            await act(people, t, "complete", body, rows["complete"], echo, clock)
        else:
            body = {"reason": RETURN_TEXT, "owner": owner_of[t.task_id]}
            await act(people, t, "return", body, rows["return"], echo, clock)
    return rows


@dataclass
class UpdateTasks:
    """Where each action's Update spent its time on the engine's side, from the task
    workflows' histories: the workflow task that accepted it, from scheduled to started
    (the server and the queue to the worker) and from started to completed (the worker
    running it, and the completion's trip back)."""

    queued: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    run: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


async def update_tasks(client: Client, task_ids: Sequence[str]) -> UpdateTasks:
    out = UpdateTasks()

    async def one(task_id: str) -> None:
        history = await client.get_workflow_handle(task_id).fetch_history()
        events = list(history.events)
        by_id = {e.event_id: e for e in events}
        for e in events:
            if e.event_type != E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                continue
            a = e.workflow_execution_update_accepted_event_attributes
            name = a.accepted_request.input.name
            # The Update is accepted in the workflow task completed just before it.
            done = by_id.get(e.event_id - 1)
            if done is None or done.event_type != E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                continue
            started = by_id[done.workflow_task_completed_event_attributes.started_event_id]
            scheduled = by_id[started.workflow_task_started_event_attributes.scheduled_event_id]
            out.queued[name].append((ns(started) - ns(scheduled)) / 1e6)
            out.run[name].append((ns(done) - ns(started)) / 1e6)

    await bounded(list(dict.fromkeys(task_ids)), 8, one)
    return out


@dataclass
class Args:
    tasks: int
    rate: float
    seed: int
    port: int | None
    worker_processes: int
    api_process: bool


def parse_args(argv: Sequence[str] | None = None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=40, help="tasks acted on (M; default 40)")
    p.add_argument("--rate", type=float, default=2.0, help="cases opened per second meanwhile")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=None, help="Temporal base port P (default: free)")
    add_worker_processes(p)
    p.add_argument(
        "--api-process",
        action="store_true",
        help="serve the API with `appeals serve`, a process of its own, as deployed",
    )
    ns = p.parse_args(argv)
    if ns.tasks < 2 or ns.rate < 0:
        p.error("--tasks must be ≥ 2 and --rate ≥ 0")
    return Args(ns.tasks, ns.rate, ns.seed, ns.port, ns.worker_processes, ns.api_process)


@contextlib.asynccontextmanager
async def serve_process(live: Settings) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """`appeals serve` on a free 127.0.0.1 port, on this stack (the environment a worker
    process gets, bench.stack.WorkerProcess); its base URL and process."""
    port = free_port()
    env = dict(WorkerProcess.environment(live))
    env.update(APPEALS_HTTP_HOST="127.0.0.1", APPEALS_HTTP_PORT=str(port))
    log = live.data_dir / "api.log"
    appeals = Path(sys.executable).parent / "appeals"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(appeals), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        if not await api_answers(base, lambda: proc.poll() is not None, timeout=60):
            last = log.read_text(errors="replace").strip().splitlines()[-1:]
            code = proc.poll()
            raise BenchError(f"appeals serve did not answer (exit code {code}): {last}")
        yield base, proc
    finally:
        stop_process(proc, timeout=30)


@contextlib.asynccontextmanager
async def api_base(args: Args, live: Settings, app: FastAPI) -> AsyncIterator[str]:
    if args.api_process:
        async with serve_process(live) as (base, _proc):
            yield base
    else:
        async with served(app) as (base, _server):
            yield base


async def run(args: Args) -> int:
    _, echo_cls = load_baseline()
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{os.getpid() % 1000:03d}"
    rng = random.Random(args.seed)
    rules = load_ruleset(Settings(temporal_address=None).rules_dir)
    warm_prefix, prefix = f"bench-act-{stamp}-w-", f"bench-act-{stamp}-m-"
    warm = plan_cases(rules, rng, warm_prefix, WARMUP_CASES)
    cases = plan_cases(rules, rng, prefix, max(4, args.tasks * 2))
    load1 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="appeals-bench-", ignore_cleanup_errors=True) as tmp:
        async with stack_and_worker(
            args.port, Path(tmp), worker_processes=args.worker_processes
        ) as (live, worker_task):
            wpids = worker_pids(worker_task)
            client = await connect(live)
            db = ReadModel(live.db_url)

            def check() -> None:
                if worker_task.done():
                    exc = None if worker_task.cancelled() else worker_task.exception()
                    raise BenchError(f"the engine's worker stopped: {exc!r}")

            queue = f"bench-echo-{stamp}"
            ctx: Context | None = None
            try:
                async with Worker(client, task_queue=queue, workflows=[echo_cls]):
                    echo = await client.start_workflow(
                        echo_cls.run, id=f"bench-echo-{stamp}", task_queue=queue
                    )
                    await bounded(warm, 20, lambda c: start_case(client, live, c))
                    await wait_projected(db, warm_prefix, warm, check)
                    await asyncio.to_thread(migrate, live.db_url)
                    # The app's own client carries a clock for its Update RPCs, so each
                    # action splits into its Update and the rest (API, projection wait).
                    clock = UpdateClock()
                    config = (await connect(live)).config()
                    config["interceptors"] = [*config["interceptors"], clock]
                    ctx = Context(
                        settings=live, engine=make_engine(live.db_url), _client=Client(**config)
                    )
                    app = create_app(live, ctx=ctx)
                    password = live.dev_password.get_secret_value()
                    with ctx.session() as session:
                        seed_dev(session, rules, password, now=datetime.now(UTC))
                    await bounded(cases, 20, lambda c: start_case(client, live, c))
                    await wait_projected(db, prefix, cases, check)
                    picked = await pick_targets(db, rules, prefix, 10_000)
                    leads = [t for t in picked if t.role == "lead"]
                    cos = [t for t in picked if t.role == "co"]
                    targets = [t for pair in zip(leads, cos, strict=False) for t in pair]
                    targets = targets[: args.tasks + 2]
                    deps = await db.query("SELECT task_id, department FROM tasks")
                    own = dict(deps)
                    others = ["hrss", "samr", "social_work", "union"]
                    owner_of = {t: next(o for o in others if o != own.get(t)) for t in own}
                    async with api_base(args, live, app) as base:
                        people = Handlers(base)
                        try:
                            for t in targets:
                                await people.login(t.handler, password)
                            await run_actions(targets[:2], people, echo, owner_of, clock)  # warm-up
                            # As `appeals serve` does once it serves (this process is the API).
                            freeze_startup_heap()
                            stop = asyncio.Event()
                            load = Load(args.rate)
                            bg = asyncio.create_task(
                                open_at_rate(client, live, args.seed, stamp, load, stop)
                            )
                            await asyncio.sleep(3)  # the load is under way
                            print(f"actions on {len(targets) - 2} tasks begin", flush=True)
                            with CpuWindow("actions", server_pid(), wpids) as cpu:
                                t0 = time.perf_counter()
                                rows = await run_actions(targets[2:], people, echo, owner_of, clock)
                                wall = time.perf_counter() - t0
                            stop.set()
                            await bg
                            check()
                            engine_side = await update_tasks(
                                client, [t.task_id for t in targets[2:]]
                            )
                            histories = await slowest_histories(client, rows)
                        finally:
                            await people.aclose()
                    await echo.signal("finish")
            finally:
                db.close()
                if ctx is not None:
                    ctx.engine.dispose()
    load2 = os.getloadavg()
    section("task actions through the API while cases open in the background")
    n = len(targets) - 2
    print(
        f"tasks M={n}, background cases opened: {load.started} in "
        f"{load.t1 - load.t0:.1f} s ({load.started / max(load.t1 - load.t0, 1e-9):.2f}/s, "
        f"target {args.rate}/s, {load.late_starts} starts late); actions window {wall:.1f} s; "
        f"load average before/after {load1[0]:.2f}/{load2[0]:.2f}"
    )
    where = (
        f"the worker's {len(wpids)} process(es) {cpu.wrk / cpu.wall:.0%} of one core, "
        if wpids
        else "the worker in this process, "
    )
    print(
        f"CPU during actions: all cores busy {cpu.busy:.0%} (any process), this process "
        f"{(cpu.py - cpu.wrk) / cpu.wall:.0%} of one core, {where}"
        f"dev server {cpu.srv / cpu.wall:.0%} of one core"
    )
    out = []
    for verb, r in rows.items():
        out.append(
            [
                verb,
                str(len(r.ms)),
                f"{pct(r.ms, 50):.1f}",
                f"{pct(r.ms, 99):.1f}",
                f"{max(r.ms, default=float('nan')):.1f}",
                slowest(r),
                shown(pct(r.update, 50)),
                shown(pct([a - u for a, u in zip(r.ms, r.update, strict=True)], 50)),
                f"{pct(r.bare, 50):.1f}",
                f"{pct(r.bare, 99):.1f}",
                str(r.stale_reads),
                str(len(r.errors)),
            ]
        )
    print(
        table(
            [
                "action (API)",
                "n",
                "p50 ms",
                "p99 ms",
                "max ms",
                "max: Update + rest",
                "its Update p50",
                "rest p50",
                "bare Update p50",
                "bare p99",
                "stale reads",
                "errors",
            ],
            out,
        )
    )
    print(
        "\nthe workflow task that accepted each action's Update (from the histories), "
        "p50 / p99 ms: queued is scheduled → started (the server, to the worker), "
        "run is started → completed (the worker, and its answer's trip back)"
    )
    print(
        table(
            ["Update", "n", "queued p50", "queued p99", "run p50", "run p99"],
            [
                [
                    name,
                    str(len(q)),
                    f"{pct(q, 50):.1f}",
                    f"{pct(q, 99):.1f}",
                    f"{pct(engine_side.run[name], 50):.1f}",
                    f"{pct(engine_side.run[name], 99):.1f}",
                ]
                for name, q in sorted(engine_side.queued.items())
            ],
        )
    )
    print("\neach kind's slowest action, and its task's history meanwhile:")
    for line in histories:
        print(f"  {line}")
    failed = [e for r in rows.values() for e in r.errors]
    for e in failed[:10]:
        print(f"  {e}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
