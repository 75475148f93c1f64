"""The overdue list on a large SQLite read model, without Temporal.

Run from the project root::

    .venv/bin/python bench/overdue_sqlite.py [--tasks 100000] [--runs 10] [--seed 1]

Builds a temporary SQLite read model (``db.engine.migrate`` + ``make_engine``, as the
worker does) holding T open tasks of realistic cases, each with 2 or 3 clocks
(``deadlines`` rows) whose due times spread over ±30 days around now: running clocks
of open tasks carry ``running_due_at`` (as ``activities/store.py`` writes it), stopped,
paused and pending ones do not. Rows go in with SQLAlchemy core bulk inserts.

It then times, R runs each after one warm-up run (a fresh ORM session per run):

1. ``db.queries.overdue_tasks``: the whole list, with department / office / category /
   clock filters, the "due within 1wd" window (``due_from``) and a first page;
2. the same SQL statement run on the raw ``sqlite3`` cursor (what SQLite costs, without
   SQLAlchemy's ORM), and its EXPLAIN QUERY PLAN;
3. ``services.supervision.overdue``, the whole in-process path behind ``appeals overdue``
   (engine per call, query, time left per row on the working-day calendar);
4. the CLI once: ``appeals overdue --json > /dev/null`` under bash's ``time``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
import temporalio
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, select

from auth.identity import principal_for
from bench.report import cpu_model, med, section, table
from db import queries
from db.engine import make_engine, migrate
from db.tables import CaseRow, DeadlineRow, TaskRow
from routing_rules import RuleSet, load_ruleset
from services.context import Context
from services.supervision import horizon
from services.supervision import overdue as overdue_in_scope
from settings import Settings

CHUNK = 5000  # rows per executemany
DAY = timedelta(days=1)
SPREAD = 30 * DAY  # due times fall in [now - SPREAD, now + SPREAD]
STATUS_MIX = (("dispatched", 0.30), ("accepted", 0.60), ("waiting_on_worker", 0.10))
# Departments by share of tasks (hrss gets most grievances of gig workers).
DEPARTMENT_MIX = (
    ("hrss", 0.35),
    ("union", 0.15),
    ("transport", 0.10),
    ("samr", 0.10),
    ("police", 0.08),
    ("social_work", 0.08),
    ("subdistrict", 0.08),
    ("housing", 0.06),
)
# Plans by share of cases, with their clocks: (name, label, period, pausable,
# starts on accept, lead only).
PLANS: dict[str, tuple[float, list[tuple[str, str, str, bool, bool, bool]]]] = {
    "standard": (
        0.80,
        [
            ("sign_for", "签收", "1wd", False, False, False),
            ("reply", "答复", "5wd", True, False, False),
        ],
    ),
    "labour_inspection": (
        0.10,
        [
            ("sign_for", "签收", "1wd", False, False, False),
            ("reply", "答复", "5wd", True, False, False),
            ("statutory", "监察办结", "60wd", True, True, True),
        ],
    ),
    "samr_complaint": (
        0.05,
        [
            ("sign_for", "签收", "1wd", False, False, False),
            ("reply", "答复", "5wd", True, False, False),
            ("statutory", "投诉受理", "7wd", False, False, True),
        ],
    ),
    "urgent": (
        0.05,
        [
            ("sign_for", "签收", "30m", False, False, False),
            ("reply", "答复", "24h", True, False, False),
        ],
    ),
}
SUMMARIES = (
    "在天河区配送站工作三个月，站点拖欠两个月工资共8400元，多次催要未果。",
    "因乘客投诉被平台罚款200元并封号7天，申诉无人处理，认为处罚规则不透明。",
    "猎德片区小区禁止快递三轮车进入，路边临时停靠也被贴罚单，无法完成派件。",
    "网点未为其缴纳社会保险，工作两年没有任何保障。",
    "平台算法不断压缩配送时限，超时即扣款，抽成比例不透明。",
)


class BenchError(RuntimeError):
    """The benchmark could not finish; the message says why in one line."""


# ---- statistics and printing ---------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


# ---- the synthetic read model ----------------------------------------------------------


def pick(rng: random.Random, mix: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def detail_json(
    plan: str, urgent: bool, due: datetime | None, period_s: float, now: datetime, paused: bool
) -> str:
    """What task_projection.clock_projection writes: plan, pauses, extensions, events."""
    events: list[dict[str, Any]] = []
    for fraction in (0.5, 0.75):
        at = None if due is None else due - timedelta(seconds=period_s * (1 - fraction))
        events.append(
            {
                "key": f"warning-{round(fraction * 100)}",
                "kind": "warning",
                "fraction": fraction,
                "rung": None,
                "at": iso(at),
                "notify_at": iso(at),
                "fired_at": iso(at) if at is not None and at < now else None,
            }
        )
    step = 1 * DAY
    for rung in (1, 2, 3):
        at = None if due is None else due + step * (0 if rung == 1 else 1 if rung == 2 else 4)
        events.append(
            {
                "key": f"rung-{rung}",
                "kind": "breach",
                "fraction": None,
                "rung": rung,
                "at": iso(at),
                "notify_at": iso(at),
                "fired_at": iso(at) if at is not None and at < now else None,
            }
        )
    pauses = (
        [{"started_at": iso(now - 2 * DAY), "reason": "请补充工资流水", "by": "hrss.tianhe.wang"}]
        if paused
        else []
    )
    return json.dumps(
        {"plan": plan, "urgent": urgent, "pauses": pauses, "extensions": [], "events": events},
        ensure_ascii=False,
    )


def period_seconds(period: str) -> float:
    n, unit = int(period.rstrip("wdhm")), period.lstrip("0123456789")
    return n * {"wd": 8 * 3600, "d": 86400, "h": 3600, "m": 60}[unit]


@dataclass
class Built:
    cases: int
    tasks: int
    deadlines: int
    running: int
    overdue_clocks: int
    statuses: Counter[str]
    clock_states: Counter[str]
    seconds: float
    db_bytes: int


def generate(
    rules: RuleSet, n_tasks: int, rng: random.Random, now: datetime
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Cases, each with its tasks (1-3) and their deadlines, until n_tasks tasks."""
    by_dept: dict[str, list[Any]] = {}
    for office in rules.offices.values():
        by_dept.setdefault(office.department, []).append(office)
    dept_mix = [(d, w) for d, w in DEPARTMENT_MIX if d in by_dept]
    categories = sorted(rules.categories)
    plan_mix = [(name, share) for name, (share, _) in PLANS.items()]
    made, i = 0, 0
    while made < n_tasks:
        i += 1
        case_id = f"AP-B{i:09d}"
        plan = pick(rng, plan_mix)
        urgent = plan == "urgent"
        category = rng.choice(categories)
        n = min(rng.choices((1, 2, 3), weights=(55, 35, 10))[0], n_tasks - made)
        opened = now - timedelta(seconds=rng.uniform(0, 40 * 86400))
        offices = [rng.choice(by_dept[pick(rng, dept_mix)]) for _ in range(n)]
        lead = offices[0]
        case = {
            "case_id": case_id,
            "version": 3,
            "status": "open",
            "request_id": f"req-{i:09d}",
            "category": category,
            "occupation": rng.choice(("rider", "courier", "ride_hailing", "truck_driver")),
            "platform": rng.choice(("meituan", "eleme", "didi", "sf_express", None)),
            "channel": rng.choice(("hotline", "walk_in", "online", "union_station")),
            "urgent": urgent,
            "name": "王小明",
            "phone": f"139{rng.randrange(10**8):08d}",
            "id_number": None,
            "summary": rng.choice(SUMMARIES),
            "residence": lead.region[:6],
            "workplace": lead.region[:6],
            "incident": None,
            "opened_at": opened,
            "sla_plan": plan,
            "rule_id": "bench_rule",
            "rules_version": "bench",
            "routing_explanation": "bench: synthetic routing",
            "lead_department": lead.department,
            "lead_region": lead.region,
            "reply": None,
            "callback": None,
            "priority": 0,
            "closed_at": None,
        }
        tasks, deadlines = [], []
        for seq, office in enumerate(offices, start=1):
            task_id = f"{case_id}-T{seq}"
            status = pick(rng, STATUS_MIX)
            accepted = None if status == "dispatched" else opened + timedelta(hours=3)
            role = "lead" if seq == 1 else "co"
            tasks.append(
                {
                    "task_id": task_id,
                    "case_id": case_id,
                    "version": 4,
                    "seq": seq,
                    "role": role,
                    "status": status,
                    "department": office.department,
                    "region": office.region,
                    "office_id": office.id,
                    "office_name": office.name,
                    "category": category,
                    "dispatched_at": opened,
                    "accepted_at": accepted,
                    "closed_at": None,
                    "outcome": None,
                    "reply": None,
                    "priority": 0,
                }
            )
            for name, label, period, pausable, on_accept, lead_only in PLANS[plan][1]:
                if lead_only and role != "lead":
                    continue
                row = clock_row(
                    rng,
                    now,
                    plan,
                    urgent,
                    task_id,
                    case_id,
                    status,
                    (name, label, period, pausable, on_accept),
                )
                # The task's filters, as the store copies them onto its clocks (0014).
                row.update(department=office.department, region=office.region, category=category)
                deadlines.append(row)
        made += len(tasks)
        yield case, tasks, deadlines


def clock_row(
    rng: random.Random,
    now: datetime,
    plan: str,
    urgent: bool,
    task_id: str,
    case_id: str,
    status: str,
    spec: tuple[str, str, str, bool, bool],
) -> dict[str, Any]:
    name, label, period, pausable, on_accept = spec
    period_s = period_seconds(period)
    mode = "working" if period.endswith(("wd", "wh")) else "elapsed"
    due: datetime | None = now + timedelta(seconds=rng.uniform(-1, 1) * SPREAD.total_seconds())
    assert due is not None
    started: datetime | None = due - timedelta(seconds=period_s * 3)
    running_since, stopped = started, None
    if on_accept and status == "dispatched":
        state = "pending"
        due = started = running_since = None
    elif name == "sign_for" and status != "dispatched":
        state = "stopped"  # signed for: the sign-for clock met or missed its due time
        stopped = due - timedelta(seconds=rng.uniform(-1, 1) * period_s)
        running_since = None
    elif status == "waiting_on_worker" and pausable:
        state = "paused"
        due = running_since = None
    else:
        state = "running"
    spent = 0 if started is None else int(period_s * rng.uniform(0, 1))
    breached = due is not None and (stopped or now) > due
    return {
        "task_id": task_id,
        "clock": name,
        "case_id": case_id,
        "label": label,
        "period": period,
        "status": state,
        "mode": mode,
        "due_at": due,
        "stopped_at": stopped,
        "started_at": started,
        "running_since": running_since,
        # store.py: only a running clock of an open task has running_due_at
        "running_due_at": due if state == "running" else None,
        "budget_seconds": int(period_s),
        "spent_seconds": spent,
        "breached": breached,
        "detail": detail_json(plan, urgent, due, period_s, now, state == "paused"),
    }


def build(url: str, path: Path, rules: RuleSet, n_tasks: int, seed: int, now: datetime) -> Built:
    t0 = time.perf_counter()
    migrate(url)
    engine = make_engine(url)
    tables = SQLModel.metadata.tables
    cases_t, tasks_t, dl_t = (
        tables[str(CaseRow.__tablename__)],
        tables[str(TaskRow.__tablename__)],
        tables[str(DeadlineRow.__tablename__)],
    )
    rng = random.Random(seed)
    built = Built(0, 0, 0, 0, 0, Counter(), Counter(), 0.0, 0)
    buf: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
    try:
        with engine.begin() as conn:

            def flush() -> None:
                for t, rows in zip((cases_t, tasks_t, dl_t), buf, strict=True):
                    if rows:
                        conn.execute(t.insert(), rows)
                        rows.clear()

            for case, tasks, deadlines in generate(rules, n_tasks, rng, now):
                buf[0].append(case)
                buf[1].extend(tasks)
                buf[2].extend(deadlines)
                built.cases += 1
                built.tasks += len(tasks)
                built.deadlines += len(deadlines)
                built.statuses.update(t["status"] for t in tasks)
                for d in deadlines:
                    built.clock_states[f"{d['clock']} {d['status']}"] += 1
                    if d["running_due_at"] is not None:
                        built.running += 1
                        built.overdue_clocks += d["running_due_at"] < now
                if len(buf[2]) >= CHUNK:
                    flush()
            flush()
    finally:
        engine.dispose()
    built.seconds = time.perf_counter() - t0
    built.db_bytes = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    return built


# ---- timing ----------------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    ms: list[float]
    rows: int


def timed(name: str, runs: int, fn: Callable[[], int]) -> Timing:
    fn()  # warm-up: first use of the statement cache, page cache already warm
    ms, rows = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return Timing(name, ms, rows)


def timing_rows(timings: Sequence[Timing]) -> list[list[str]]:
    return [
        [t.name, str(t.rows), str(len(t.ms)), fmt(med(t.ms)), fmt(min(t.ms)), fmt(max(t.ms))]
        for t in timings
    ]


TIMING_HEADERS = ["measurement", "rows", "runs", "median ms", "min ms", "max ms"]


class Capture:
    """The SQL and parameters of the overdue statement, as SQLAlchemy sends them."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.engine = engine

    def __enter__(self) -> Capture:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)

    def _hook(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self.statements.append((statement, parameters))


def plan_tree(raw: sqlite3.Connection, sql: str, params: Any) -> str:
    rows = raw.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + "|-- " + str(detail))
    return "\n".join(lines)


@dataclass
class Args:
    tasks: int
    runs: int
    seed: int


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--tasks", type=int, default=100_000, help="open tasks (default 100000)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per query (default 10)")
    p.add_argument("--seed", type=int, default=1, help="seed of the data (default 1)")
    ns = p.parse_args(argv)
    if ns.tasks < 1 or ns.runs < 1:
        p.error("--tasks and --runs must be ≥ 1")
    return Args(ns.tasks, ns.runs, ns.seed)


def run(args: Args) -> int:
    section("appeals benchmark: the overdue list on a SQLite read model (no Temporal)")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        table(
            ["fact", "value"],
            [
                ["machine", f"{os.cpu_count()} cores ({affinity} usable), {cpu_model()}"],
                ["system", f"{platform.system()} {platform.release()} {platform.machine()}"],
                ["python", platform.python_version()],
                ["temporalio (SDK, unused here)", temporalio.__version__],
                ["SQLAlchemy", sqlalchemy.__version__],
                ["SQLite", sqlite3.sqlite_version],
            ],
        )
    )
    print(
        f"\nparameters: tasks T={args.tasks:,}, runs R={args.runs} (+1 warm-up), seed {args.seed}"
    )
    rules = load_ruleset(Settings(temporal_address=None).rules_dir)
    appeals = Path(sys.executable).parent / "appeals"
    with tempfile.TemporaryDirectory(prefix="appeals-overdue-", ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / "appeals.db"
        url = f"sqlite:///{path}"
        now = datetime.now(UTC)
        built = build(url, path, rules, args.tasks, args.seed, now)
        report_build(built, path)
        s = Settings(data_dir=Path(tmp), database_url=url, temporal_address=None)
        engine = make_engine(url)
        try:
            return measure(args, s, engine, path, url, now, appeals, tmp)
        finally:
            engine.dispose()


def report_build(b: Built, path: Path) -> None:
    section("The read model")
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(b.clock_states.items()))
    statuses = ", ".join(f"{k} {v:,}" for k, v in b.statuses.most_common())
    print(
        table(
            ["", "value"],
            [
                ["file", str(path)],
                ["cases / open tasks / deadlines", f"{b.cases:,} / {b.tasks:,} / {b.deadlines:,}"],
                ["task statuses", statuses],
                ["clocks running (running_due_at set)", f"{b.running:,}"],
                ["running clocks already past due", f"{b.overdue_clocks:,}"],
                ["built in (migrate + bulk insert)", f"{b.seconds:.1f} s"],
                ["size on disk (db + WAL)", f"{b.db_bytes / 2**20:,.0f} MiB"],
            ],
        )
    )
    print(f"clock states: {states}")


def measure(
    args: Args,
    s: Settings,
    engine: Engine,
    path: Path,
    url: str,
    now: datetime,
    appeals: Path,
    tmp: str,
) -> int:
    with Session(engine) as session:
        sample = session.exec(select(TaskRow).limit(20000)).all()
        top = Counter((t.department, t.region) for t in sample).most_common(1)[0][0]
    dept, region = top
    category = "wage_arrears"
    soon = horizon(now, "1wd", s)
    past = now - 29 * DAY  # as few rows as the 1wd window, through the main query's plan

    def overdue(**kw: Any) -> Callable[[], int]:
        def fn() -> int:
            with Session(engine) as session:
                return len(queries.overdue_tasks(session=session, **kw))

        return fn

    cases: list[tuple[str, dict[str, Any]]] = [
        ("all overdue", {"now": now}),
        (f"department={dept}", {"now": now, "department": dept}),
        (f"office {dept}@{region}", {"now": now, "department": dept, "region": region}),
        (f"category={category}", {"now": now, "category": category}),
        ("clock=reply", {"now": now, "clock": "reply"}),
        ("clock=sign_for", {"now": now, "clock": "sign_for"}),
        ("due within 1wd (due_from=now)", {"now": soon, "due_from": now}),
        ("overdue as of now-29d (few rows)", {"now": past}),
        ("first page (limit 50)", {"now": now, "limit": 50}),
    ]
    section(f"1. db.queries.overdue_tasks, {args.runs} runs each (fresh session per run)")
    timings = [timed(name, args.runs, overdue(**kw)) for name, kw in cases]
    print(table(TIMING_HEADERS, timing_rows(timings), right=range(1, 6)))
    print(f"now = {now:%Y-%m-%d %H:%M:%S} UTC; 1wd horizon = {soon:%Y-%m-%d %H:%M:%S} UTC")

    # The statements SQLAlchemy sends, to run them bare and explain them.
    with Capture(engine) as cap:
        overdue(now=now)()
        overdue(now=soon, due_from=now)()
        overdue(now=past)()
    joined = [st for st in cap.statements if "JOIN" in st[0]]
    (main_sql, main_params), (soon_sql, soon_params), (_, past_params) = joined
    raw = sqlite3.connect(str(path))
    try:

        def bare(sql: str, params: Any) -> Callable[[], int]:
            return lambda: len(raw.execute(sql, params).fetchall())

        section("2. The same SQL on the bare sqlite3 cursor (no ORM)")
        bare_t = [
            timed("all overdue: SQL + fetchall", args.runs, bare(main_sql, main_params)),
            timed("due within 1wd: SQL + fetchall", args.runs, bare(soon_sql, soon_params)),
            timed("overdue as of now-29d: SQL + fetchall", args.runs, bare(main_sql, past_params)),
            timed(
                "count(*) of running clocks past due",
                args.runs,
                bare(
                    "SELECT count(*) FROM deadlines WHERE running_due_at < ?",
                    (now.replace(tzinfo=None).isoformat(sep=" "),),
                ),
            ),
        ]
        print(table(TIMING_HEADERS, timing_rows(bare_t), right=range(1, 6)))
        print("(rows: result rows before the per-task de-duplication; count(*): one row)")
        print("\nEXPLAIN QUERY PLAN, all overdue (the main query):")
        print(plan_tree(raw, main_sql, main_params))
        same = plan_tree(raw, main_sql, past_params) == plan_tree(raw, main_sql, main_params)
        print(f"(overdue as of now-29d: {'the same plan' if same else 'a different plan'})")
        print("\nEXPLAIN QUERY PLAN, due within 1wd:")
        print(plan_tree(raw, soon_sql, soon_params))
        print("\nthe main statement as sent:")
        print("  " + " ".join(main_sql.split()))
    finally:
        raw.close()
    print(
        "\n'SCAN deadlines USING INDEX sqlite_autoindex_deadlines_1' is the primary key (task_id,\n"
        "clock), walked in full for the GROUP BY; 'SEARCH ... ix_deadlines_running_due\n"
        "(running_due_at>? AND running_due_at<?)' is the range scan on the due-time index."
    )

    section(f"3. services.supervision.overdue (the `appeals overdue` path), {args.runs} runs each")
    ctx = Context(settings=s, engine=make_engine(s.db_url))
    city = principal_for(ctx.rules, "sup.zhang")  # the city's supervisor: no scope filter
    assert city is not None

    def rows_fn(**kw: Any) -> Callable[[], int]:
        return lambda: len(overdue_in_scope(ctx, city, now=now, limit=None, **kw))

    path_t = [
        timed("all overdue", args.runs, rows_fn()),
        timed(f"department={dept}", args.runs, rows_fn(department=dept)),
        timed(f"office {dept}@{region}", args.runs, rows_fn(department=dept, region=region)),
        timed("--within 1wd", args.runs, rows_fn(within="1wd")),
    ]
    print(table(TIMING_HEADERS, timing_rows(path_t), right=range(1, 6)))
    print(
        "Includes a session per call, the query, and per row the time left in\n"
        "the clock's own terms (working_time_between on the calendar for wd clocks)."
    )

    analysed = after_analyze(path, main_sql, main_params, min(3, args.runs))

    section("5. The CLI, once")
    cmd = f"time APPEALS_DATABASE_URL={url} {appeals} overdue --json > /dev/null"
    print(f"$ {cmd}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
    env["APPEALS_DATA_DIR"] = tmp
    t0 = time.perf_counter()
    out = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, env=env, cwd=tmp, timeout=600
    )
    wall = time.perf_counter() - t0
    print(out.stderr.strip())
    print(f"(exit status {out.returncode}; {wall:.2f} s wall as seen from here)")
    if out.returncode != 0:
        print("FAILED: the CLI did not exit 0")
        return 1
    return analysed


def after_analyze(path: Path, sql: str, params: Any, runs: int) -> int:
    """The app never runs ANALYZE; this shows what SQLite's statistics would change.
    Run last: it writes sqlite_stat1 into the (temporary) database."""
    section("4. The main query after ANALYZE (the app never runs it; for comparison)")
    raw = sqlite3.connect(str(path))
    try:
        t0 = time.perf_counter()
        raw.execute("ANALYZE")
        raw.commit()
        took = time.perf_counter() - t0
        t = timed(
            "all overdue: SQL + fetchall, after ANALYZE",
            runs,
            lambda: len(raw.execute(sql, params).fetchall()),
        )
        print(table(TIMING_HEADERS, timing_rows([t]), right=range(1, 6)))
        print(f"(ANALYZE took {took:.1f} s)\n\nEXPLAIN QUERY PLAN after ANALYZE:")
        print(plan_tree(raw, sql, params))
    finally:
        raw.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
