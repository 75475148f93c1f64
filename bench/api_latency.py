"""What the HTTP API adds to a task action: the same Update through the API and straight
to Temporal, in the same run, on one embedded stack.

Run from the project root::

    .venv/bin/python bench/api_latency.py [--cases N] [--actions M] [--seed S] [--port P]

One Temporal dev server (``bench.stack.stack_and_worker``: the embedded stack on a free
port, a temporary data directory, the real worker in this process) and the FastAPI app
(``api.app.create_app``) served by uvicorn on a free 127.0.0.1 port in this process, over
the same settings. It opens N cases, waits until their tasks are in the read model, then
takes M dispatched tasks, each with a handler of its office. Alternately, a task gets
``accept`` then ``note`` through the API (POST /api/v1/tasks/{id}/accept and /note, with
the handler's bearer token, one keep-alive httpx client per handler) or the same two
Updates sent straight to Temporal (``execute_update`` on the task workflow). Every task
is then read through the API (GET /api/v1/tasks/{id}), and GET /api/v1/me is timed with
and without a token: the API's own floor. Every call is timed alone; nothing runs in
parallel.

It then times the API's steps in-process (the token check, ``load_task``, the service
behind GET /tasks/{id}, one thread-pool hop) and counts, on a few extra requests, the
thread-pool hops each route makes. See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import os
import platform
import random
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread
import fastapi
import httpx
import temporalio
import uvicorn
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)

from api.app import API_PREFIX, create_app
from api.deps import principal_from_token
from auth.accounts import seed_dev
from bench.report import cpu_model, med, pct, section, table
from bench.stack import BenchError, run_bench, stack_and_worker, temporal_version
from bench.throughput import (
    WARMUP_CASES,
    CpuWindow,
    PlannedCase,
    ReadModel,
    bounded,
    plan_cases,
    server_pid,
    start_case,
    wait_projected,
)
from client import connect
from db.engine import make_engine, migrate
from models.tasks import AcceptInput, ActionResult, NoteInput, TaskStatus
from routing_rules import RuleSet, load_ruleset
from services.context import Context
from services.tasks import load_task, show_task
from services.temporal import UPDATE_TIMEOUT
from settings import Settings

START_CONCURRENCY = 20  # start calls in flight while opening cases (as bench/throughput.py)
NOTE_TEXT = "已电话联系当事人，核实诉求情况。"
HTTP_TIMEOUT = 60.0  # seconds; above the API's own 30 s Update timeout
INSTRUMENTED = 20  # extra requests per route for counting thread-pool hops


# ---- samples -----------------------------------------------------------------------------


@dataclass
class Sample:
    """One row of the table: round trips (ms), the app's own share (ms), failures."""

    path: str
    action: str
    ms: list[float] = field(default_factory=list)
    in_app: list[float] = field(default_factory=list)
    update: list[float] = field(default_factory=list)  # the Update RPC inside an API call
    paired: list[float] = field(default_factory=list)  # each API call minus its own Update
    errors: list[str] = field(default_factory=list)


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def share(part: float, whole: float = 1.0) -> str:
    return "-" if math.isnan(part) or whole <= 0 else f"{part / whole:.0%}"


# ---- the app, timed from inside ------------------------------------------------------------


class UpdateClock(Interceptor):
    """A client interceptor on the app's own Temporal client: times each Update RPC
    (``start_workflow_update``, which ``execute_update`` makes wait until completed)."""

    def __init__(self) -> None:
        self.last_ms = math.nan

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _TimedUpdates(next, self)


class _TimedUpdates(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, clock: UpdateClock) -> None:
        super().__init__(next)
        self.clock = clock

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        t0 = time.perf_counter()
        try:
            return await super().start_workflow_update(input)
        finally:
            self.clock.last_ms = (time.perf_counter() - t0) * 1000


class InApp:
    """A pure ASGI wrapper around the app: the time from the app receiving a request until
    it has handed the last byte of its response to uvicorn. The rest of a round trip is
    the HTTP transport: httpx, the socket, uvicorn's parsing and writing."""

    def __init__(self, app: ASGIApp, clock: UpdateClock) -> None:
        self.app = app
        self.clock = clock
        self.last_ms = math.nan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.last_ms = (time.perf_counter() - t0) * 1000

        await self.app(scope, receive, timed_send)


class BenchServer(uvicorn.Server):
    """uvicorn without its signal handlers: the benchmark's own (stop everything on
    SIGINT, SIGTERM, SIGHUP) stay in force while it serves."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[tuple[str, BenchServer]]:
    """Serve ``app`` on a free 127.0.0.1 port (bound here, so no other process can take it
    in between); stopped on the way out."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections whose
    # socket says it is TCP. With proto 0, every response (headers, then body: two writes)
    # waits ~40 ms for a delayed ACK (Nagle) whenever a request follows the previous one
    # closely; uvicorn's own host/port path creates its sockets with the right proto.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # One keep-alive connection per handler for the whole run: a handler's next call
        # may come more than uvicorn's default 5 s later, and a reconnect is not the API.
        timeout_keep_alive=600,
    )
    server = BenchServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise BenchError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 30)
        except TimeoutError:
            print("warning: uvicorn did not stop within 30 s; cancelled it")
        except Exception as e:
            print(f"warning: uvicorn had failed: {e!r}")
        sock.close()


# ---- counting thread-pool hops ---------------------------------------------------------------


@dataclass
class Hops:
    """Calls to ``anyio.to_thread.run_sync`` (FastAPI's ``run_in_threadpool`` for every sync
    dependency, sync route and sync response validation): how many, the time their
    functions ran in the thread, and the time the event loop waited for them."""

    calls: int = 0
    inside: float = 0.0  # seconds in the functions themselves
    awaited: float = 0.0  # seconds from the call until the result was back on the loop


@contextlib.contextmanager
def counting_hops() -> Iterator[Hops]:
    """Count and time thread-pool hops (only for the instrumented requests)."""
    original = anyio.to_thread.run_sync
    hops = Hops()

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        spent = 0.0

        def timed(*a: Any) -> Any:
            nonlocal spent
            t = time.perf_counter()
            try:
                return func(*a)
            finally:
                spent = time.perf_counter() - t

        t0 = time.perf_counter()
        try:
            return await original(timed, *args, **kwargs)
        finally:
            hops.calls += 1
            hops.inside += spent
            hops.awaited += time.perf_counter() - t0

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield hops
    finally:
        anyio.to_thread.run_sync = original


# ---- tasks and handlers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    task_id: str
    office_id: str
    role: str
    handler: str


async def pick_targets(db: ReadModel, rules: RuleSet, prefix: str, count: int) -> list[Target]:
    """Up to ``count`` dispatched tasks of the given cases whose office has a handler in
    the directory (external hand-offs and platform liaisons have none), the first
    handler of each; ordered by role, then id, so that alternating splits each role."""
    rows = await db.query(
        "SELECT t.task_id, t.office_id, t.role FROM tasks t JOIN cases c ON c.case_id = t.case_id "
        "WHERE c.request_id GLOB ? AND t.status = 'dispatched' ORDER BY t.role, t.task_id",
        f"{prefix}*",
    )
    picked = [
        Target(task_id, office_id, role, handlers[0])
        for task_id, office_id, role in rows
        if (handlers := rules.handlers_of(office_id))
    ]
    return picked[:count]


class Handlers:
    """One logged-in keep-alive httpx client per handler, and one without a token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.tokens: dict[str, str] = {}
        self.anonymous = self._client()
        self.login_ms: list[float] = []

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=HTTP_TIMEOUT)

    async def login(self, staff_id: str, password: str) -> None:
        if staff_id in self.clients:
            return
        c = self._client()
        self.clients[staff_id] = c
        t0 = time.perf_counter()
        r = await c.post(f"{API_PREFIX}/token", data={"username": staff_id, "password": password})
        self.login_ms.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise BenchError(f"could not log in as {staff_id}: HTTP {r.status_code} {r.text}")
        self.tokens[staff_id] = str(r.json()["access_token"])
        c.headers["Authorization"] = f"Bearer {self.tokens[staff_id]}"
        # The token's first use writes last_used_at; let that happen outside the timing.
        await c.get(f"{API_PREFIX}/me")

    async def aclose(self) -> None:
        for c in [self.anonymous, *self.clients.values()]:
            await c.aclose()


# ---- the timed calls ------------------------------------------------------------------------


async def timed_http(
    sample: Sample,
    app: InApp,
    call: Awaitable[httpx.Response],
    what: str,
    expect: int = 200,
) -> httpx.Response | None:
    app.last_ms = app.clock.last_ms = math.nan
    t0 = time.perf_counter()
    try:
        r = await call
    except httpx.HTTPError as e:
        sample.errors.append(f"{what}: {e!r}")
        return None
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != expect:
        sample.errors.append(f"{what}: HTTP {r.status_code} {r.text[:200]}")
        return None
    sample.ms.append(ms)
    sample.in_app.append(app.last_ms)
    if not math.isnan(app.clock.last_ms):
        sample.update.append(app.clock.last_ms)
        sample.paired.append(ms - app.clock.last_ms)
    return r


async def timed_update(
    sample: Sample, client: Client, t: Target, name: str, arg: AcceptInput | NoteInput
) -> ActionResult | None:
    handle = client.get_workflow_handle(t.task_id)
    t0 = time.perf_counter()
    try:
        res: ActionResult = await handle.execute_update(
            name, arg, result_type=ActionResult, rpc_timeout=UPDATE_TIMEOUT
        )
    except Exception as e:  # any failure of the call is a failed action, reported
        sample.errors.append(f"{name} {t.task_id} as {t.handler}: {type(e).__name__}: {e}")
        return None
    sample.ms.append((time.perf_counter() - t0) * 1000)
    return res


@dataclass
class Rows:
    api_accept: Sample = field(default_factory=lambda: Sample("API", "accept"))
    direct_accept: Sample = field(default_factory=lambda: Sample("direct Temporal", "accept"))
    api_note: Sample = field(default_factory=lambda: Sample("API", "note"))
    direct_note: Sample = field(default_factory=lambda: Sample("direct Temporal", "note"))
    read: Sample = field(default_factory=lambda: Sample("API", "GET /tasks/{id}"))
    me: Sample = field(default_factory=lambda: Sample("API", "GET /me"))
    anonymous: Sample = field(default_factory=lambda: Sample("API", "GET /me, no token (401)"))

    def all(self) -> list[Sample]:
        return [
            self.api_accept,
            self.direct_accept,
            self.api_note,
            self.direct_note,
            self.read,
            self.me,
            self.anonymous,
        ]


async def run_tasks(
    targets: Sequence[Target], client: Client, people: Handlers, app: InApp
) -> Rows:
    """Alternately through the API and straight to Temporal: accept, then note; then the
    reads. One call at a time."""
    rows = Rows()
    for i, t in enumerate(targets):
        c = people.clients[t.handler]
        url = f"{API_PREFIX}/tasks/{t.task_id}"
        who = f"{t.task_id} as {t.handler}"
        accepted: ActionResult | None
        if i % 2 == 0:
            r = await timed_http(
                rows.api_accept, app, c.post(f"{url}/accept", json={}), f"accept {who}"
            )
            accepted = ActionResult.model_validate(r.json()) if r is not None else None
            await timed_http(
                rows.api_note, app, c.post(f"{url}/note", json={"text": NOTE_TEXT}), f"note {who}"
            )
            accept_row = rows.api_accept
        else:
            accepted = await timed_update(
                rows.direct_accept, client, t, "accept", AcceptInput(actor=t.handler)
            )
            await timed_update(
                rows.direct_note, client, t, "note", NoteInput(actor=t.handler, text=NOTE_TEXT)
            )
            accept_row = rows.direct_accept
        if accepted is not None and accepted.status is not TaskStatus.accepted:
            accept_row.errors.append(f"accept {who}: status {accepted.status.value}")
        await timed_http(rows.read, app, c.get(url), f"GET task {who}")
        await timed_http(rows.me, app, c.get(f"{API_PREFIX}/me"), f"GET /me as {t.handler}")
        await timed_http(
            rows.anonymous, app, people.anonymous.get(f"{API_PREFIX}/me"), "GET /me", expect=401
        )
    return rows


# ---- the API's steps, in-process ----------------------------------------------------------------


@dataclass
class Step:
    name: str
    per_action: str  # how many times one accept or note does it
    ms: list[float] = field(default_factory=list)


async def time_steps(ctx: Context, targets: Sequence[Target], people: Handlers) -> list[Step]:
    """The API's pieces called directly on the app's own context (no HTTP): each one as
    many times as there are tasks."""
    token = Step("token check: api.deps.principal_from_token", "1")
    load = Step("services.tasks.load_task (permission check, then the service)", "2")
    show = Step("services.tasks.show_task (GET /tasks/{id} without HTTP)", "-")
    hop = Step("one thread-pool hop: run_in_threadpool(no-op)", "3 (see below)")
    for t in targets:
        raw = people.tokens[t.handler]
        t0 = time.perf_counter()
        p = principal_from_token(ctx, raw)
        token.ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        load_task(ctx, t.task_id)
        load.ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        show_task(ctx, p, t.task_id)
        show.ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await run_in_threadpool(lambda: None)
        hop.ms.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0)  # let the worker's loop breathe between the blocking calls
    return [token, load, show, hop]


@dataclass
class RouteHops:
    route: str
    requests: int = 0
    hops: Hops = field(default_factory=Hops)
    in_app: list[float] = field(default_factory=list)


async def count_hops(targets: Sequence[Target], people: Handlers, app: InApp) -> list[RouteHops]:
    """A few more requests per route (notes on tasks already noted, reads), each with
    thread-pool hops counted and timed. Not part of the main table."""
    routes = [
        RouteHops("POST /tasks/{id}/note"),
        RouteHops("GET /tasks/{id}"),
        RouteHops("GET /me"),
        RouteHops("GET /me, no token (401)"),
    ]
    for t in targets[:INSTRUMENTED]:
        c = people.clients[t.handler]
        url = f"{API_PREFIX}/tasks/{t.task_id}"
        calls: list[tuple[RouteHops, Callable[[], Awaitable[httpx.Response]]]] = [
            (routes[0], partial(c.post, f"{url}/note", json={"text": NOTE_TEXT})),
            (routes[1], partial(c.get, url)),
            (routes[2], partial(c.get, f"{API_PREFIX}/me")),
            (routes[3], partial(people.anonymous.get, f"{API_PREFIX}/me")),
        ]
        for route, call in calls:
            app.last_ms = math.nan
            with counting_hops() as hops:
                r = await call()
            if r.status_code not in (200, 401):
                raise BenchError(f"{route.route} {t.task_id}: HTTP {r.status_code} {r.text}")
            route.requests += 1
            route.hops.calls += hops.calls
            route.hops.inside += hops.inside
            route.hops.awaited += hops.awaited
            route.in_app.append(app.last_ms)
    return routes


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Args:
    cases: int
    actions: int
    seed: int
    port: int | None


def parse_args(argv: Sequence[str] | None = None) -> Args:
    p = argparse.ArgumentParser(
        description="A task action's round trip through the HTTP API beside the same Update "
        "sent straight to Temporal (p50, p99), on one embedded stack."
    )
    p.add_argument("--cases", type=int, default=60, help="cases opened (N; default 60)")
    p.add_argument(
        "--actions",
        type=int,
        default=100,
        help="tasks acted on (M; default 100): half through the API, half direct",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the generated intakes")
    p.add_argument("--port", type=int, default=None, help="Temporal base port P (default: free)")
    ns_ = p.parse_args(argv)
    args = Args(ns_.cases, ns_.actions, ns_.seed, ns_.port)
    if args.cases < 1 or args.actions < 2:
        p.error("--cases must be ≥ 1 and --actions ≥ 2")
    if args.port is not None and (args.port == 7233 or not 1024 <= args.port <= 64000):
        p.error("--port must be in 1024..64000 and not 7233")
    return args


async def open_cases(
    client: Client,
    live: Settings,
    db: ReadModel,
    prefix: str,
    cases: Sequence[PlannedCase],
    check: Callable[[], None],
) -> float:
    t0 = time.perf_counter()
    starting = asyncio.create_task(
        bounded(cases, START_CONCURRENCY, lambda c: start_case(client, live, c))
    )
    try:
        await wait_projected(db, prefix, cases, check)
    finally:
        await starting
    return time.perf_counter() - t0


def print_facts(args: Args, http_impl: str) -> None:
    section("appeals benchmark: the HTTP API beside direct Temporal")
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
                [
                    "fastapi / uvicorn / httpx",
                    f"{fastapi.__version__} / {uvicorn.__version__} / {httpx.__version__}",
                ],
                ["uvicorn HTTP protocol", http_impl],
                ["SQLite", sqlite3.sqlite_version],
            ],
        )
    )


async def run(args: Args) -> int:
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{os.getpid() % 1000:03d}"
    rng = random.Random(args.seed)
    rules = load_ruleset(Settings(temporal_address=None).rules_dir)
    warm_prefix, prefix = f"bench-api-{stamp}-w-", f"bench-api-{stamp}-m-"
    warm = plan_cases(rules, rng, warm_prefix, WARMUP_CASES)
    cases = plan_cases(rules, rng, prefix, args.cases)

    # uvicorn's "auto" HTTP protocol: httptools when it is installed, else pure-Python h11.
    print_facts(args, "httptools" if importlib.util.find_spec("httptools") else "h11")

    with tempfile.TemporaryDirectory(prefix="appeals-bench-", ignore_cleanup_errors=True) as tmp:
        async with stack_and_worker(args.port, Path(tmp)) as (live, worker_task):
            client = await connect(live)
            db = ReadModel(live.db_url)
            ctx: Context | None = None

            def check() -> None:
                if worker_task.done():
                    exc = None if worker_task.cancelled() else worker_task.exception()
                    raise BenchError(f"the engine's worker stopped: {exc!r}")

            try:
                # The worker migrates as it starts; once warm-up cases are projected it has.
                # migrate() again is then a no-op, and makes sure before seeding.
                await open_cases(client, live, db, warm_prefix, warm, check)
                await asyncio.to_thread(migrate, live.db_url)
                # What create_app(live) builds for itself (an engine and a Temporal client
                # over the same settings), given to it, so that the client can carry a
                # clock for the Update RPCs the app sends.
                clock = UpdateClock()
                own = await connect(live)
                config = own.config()
                config["interceptors"] = [*config["interceptors"], clock]
                ctx = Context(
                    settings=live, engine=make_engine(live.db_url), _client=Client(**config)
                )
                app = create_app(live, ctx=ctx)
                password = live.dev_password.get_secret_value()
                with ctx.session() as session:
                    seed_dev(session, load_ruleset(live.rules_dir), password, now=datetime.now(UTC))

                opened = await open_cases(client, live, db, prefix, cases, check)
                targets = await pick_targets(db, rules, prefix, args.actions)
                warm_targets = await pick_targets(db, rules, warm_prefix, 4)
                tasks_total = sum(c.tasks for c in cases)

                timed_app = InApp(app, clock)
                async with served(timed_app) as (base, _server):
                    print(
                        f"\nstack: dev server 127.0.0.1:{live.embedded_port}, "
                        f"API {base}, read model {live.db_url.removeprefix('sqlite:///')}"
                    )
                    people = Handlers(base)
                    try:
                        for t in [*warm_targets, *targets]:
                            await people.login(t.handler, password)
                        # Warm-up, not measured: both paths, the reads, the app's own
                        # Temporal connection (made on its first action).
                        await run_tasks(warm_targets, client, people, timed_app)
                        check()
                        with CpuWindow("timed calls", server_pid()) as cpu:
                            rows = await run_tasks(targets, client, people, timed_app)
                        check()
                        steps = await time_steps(ctx, targets, people)
                        routes = await count_hops(targets, people, timed_app)
                    finally:
                        await people.aclose()
            finally:
                db.close()
                if ctx is not None:
                    ctx.engine.dispose()

    report(args, cases, tasks_total, opened, targets, people, rows, steps, routes, cpu)
    failed = [e for s in rows.all() for e in s.errors]
    if failed:
        calls = sum(len(s.ms) + len(s.errors) for s in rows.all())
        print(
            f"bench: {len(failed)} of {calls} timed calls failed; first: {failed[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def report(
    args: Args,
    cases: Sequence[PlannedCase],
    tasks_total: int,
    opened: float,
    targets: Sequence[Target],
    people: Handlers,
    rows: Rows,
    steps: Sequence[Step],
    routes: Sequence[RouteHops],
    cpu: CpuWindow,
) -> None:
    roles = Counter(t.role for t in targets)
    print(
        f"\nparameters: cases N={args.cases} ({tasks_total} tasks, opened and projected in "
        f"{opened:.1f} s), tasks acted on M={len(targets)} "
        f"({', '.join(f'{r} {n}' for r, n in sorted(roles.items()))}), "
        f"{len(people.clients)} handlers logged in, seed {args.seed}"
    )
    if len(targets) < args.actions:
        print(
            f"note: only {len(targets)} dispatched tasks of the N cases have a handler in the "
            f"directory (asked for {args.actions}); open more cases with --cases"
        )

    loadavg = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"during the timed calls ({cpu.wall:.0f} s): this process {share(cpu.py, cpu.wall)} and "
        f"the dev server {share(cpu.srv, cpu.wall)} of one core; the whole machine "
        f"{share(cpu.busy)} busy (any process, all cores); load average now {loadavg}"
    )

    section("Round trips, one call at a time (ms)")
    body = []
    for s in rows.all():
        body.append(
            [
                s.path,
                s.action,
                str(len(s.ms)),
                fmt(med(s.ms)),
                fmt(pct(s.ms, 99)),
                fmt(max(s.ms) if s.ms else math.nan),
                str(len(s.errors)),
                fmt(med(s.in_app)) if s.in_app else "-",
                fmt(med(s.update)) if s.update else "-",
            ]
        )
    headers = [
        "path",
        "action",
        "count",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "in app p50",
        "Update p50",
    ]
    print(table(headers, body, right=range(2, 9)))
    print(
        """
in app: from the app receiving the request until it has handed its last byte to uvicorn.
Update: the Update RPC the app sent inside that request (timed by a client interceptor).
With fewer than 100 samples the p99 is the maximum."""
    )

    section("API overhead on an action (ms)")
    token, load, _, hop = (med(step.ms) for step in steps)
    hop_wait = next(
        ((r.hops.awaited - r.hops.inside) / r.hops.calls * 1000 for r in routes if r.hops.calls),
        math.nan,
    )
    orows = []
    for api, direct in ((rows.api_accept, rows.direct_accept), (rows.api_note, rows.direct_note)):
        paired = api.paired
        http = [total - inner for total, inner in zip(api.ms, api.in_app, strict=True)]
        parts = med(http) + token + 2 * load + 3 * hop_wait
        orows.append(
            [
                api.action,
                fmt(med(api.ms) - med(direct.ms)),
                fmt(med(paired)),
                fmt(pct(paired, 99)),
                fmt(med(http)),
                fmt(parts),
            ]
        )
    headers = [
        "action",
        "p50 API − p50 direct",
        "paired p50",
        "paired p99",
        "HTTP p50",
        "sum of parts",
    ]
    print(table(headers, orows, right=range(1, 6)))
    hops = f"{fmt(hop_wait, 2)} wait"
    login = f"{fmt(med(people.login_ms))} ms over {len(people.login_ms)} handlers"
    print(
        f"""
p50 API − p50 direct: the difference of the two rows above; it carries the Update's own
spread (different tasks, different moments). paired: per API call, its round trip minus
the Update RPC inside it: what the API adds to that very call. HTTP: round trip minus in
app (httpx, the loopback socket, uvicorn's h11 parsing and writing). sum of parts: HTTP +
token check {fmt(token, 2)} + 2 × load_task {fmt(load, 2)} + 3 thread-pool hops × {hops}
(figures from the tables below; a no-op hop alone takes {fmt(hop, 2)}).
login (POST /token: Argon2 check, a token row written): p50 {login}.

API: httpx (one keep-alive client per handler) → uvicorn on 127.0.0.1 → FastAPI: token
check, permission check, then the service's own load and check, then the Update on the
app's own Temporal client. direct Temporal: execute_update on the benchmark's client, same
settings and data converter. Both paths alternate task by task (split evenly by role);
every task is then read through the API. API server, worker and clients share this one
Python process, and so one event loop and one GIL."""
    )

    section("The API's steps, called in-process on the app's context (ms)")
    srows = [
        [s.name, s.per_action, str(len(s.ms)), fmt(med(s.ms), 2), fmt(pct(s.ms, 99), 2)]
        for s in steps
    ]
    print(table(["step", "per action", "count", "p50 ms", "p99 ms"], srows, right=range(1, 5)))

    section(f"Thread-pool hops per request ({INSTRUMENTED} extra requests per route, counted)")
    hrows = []
    for r in routes:
        n = max(r.requests, 1)
        hrows.append(
            [
                r.route,
                fmt(r.hops.calls / n, 1),
                fmt(r.hops.inside / n * 1000, 2),
                fmt((r.hops.awaited - r.hops.inside) / n * 1000, 2),
                fmt(med(r.in_app), 2),
            ]
        )
    headers = ["route", "hops", "in threads ms", "hop wait ms", "in app p50 ms"]
    print(table(headers, hrows, right=range(1, 5)))
    print(
        """
hops: calls to anyio.to_thread.run_sync per request (every sync dependency, sync route and,
for a sync route, its response validation). in threads: time the functions ran there
(the token check and task loads are SQLite reads). hop wait: the rest of the time the
event loop waited for them (thread hand-off, and the GIL shared with the worker)."""
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args), stopped="the API, the stack and the worker")


if __name__ == "__main__":
    sys.exit(main())
