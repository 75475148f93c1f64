"""The overdue list at scale: a million tasks (a quarter of them open), on SQLite and on
PostgreSQL, first pages with varied filters and the whole list streamed as CSV.

Run from the project root::

    .venv/bin/python bench/overdue_scale.py [--tasks 1000000] [--open-share 0.25]
        [--queries 100] [--db sqlite,postgres] [--seed 1] [--each N] [--no-csv]
        [--keep DIR | --reuse DIR]

For each database it builds a read model (``db.engine.migrate``, then SQLAlchemy core
bulk inserts): T tasks in cases of 1 to 3 (``bench.overdue_sqlite.generate``: realistic
departments, offices, plans and clocks), of which the open share stays open and the rest
are completed (their clocks stopped, ``running_due_at`` cleared, as activities/store.py
leaves them). PostgreSQL is a throwaway server (``tests.postgres``: initdb in a temporary
directory, 127.0.0.1, a free port), stopped at the end.

Then, through ``services.supervision.overdue`` as the city supervisor (the path of
``GET /api/v1/supervision/overdue`` and ``appeals overdue``):

1. Q first pages (limit 50), each with filters drawn at random: none, a department, an
   office (department and region), a category, a clock, or "due within 1wd", alone or
   two together; p50, p95 and max in ms, overall and per filter combination. With
   ``--each N``, also N first pages of every combination (every pair included), so a
   slow one the random draw rarely picks still shows.
2. The whole list streamed as CSV (``services.supervision.overdue_rows`` into
   ``overdue_csv``, what ``GET /api/v1/supervision/overdue.csv`` sends): rows, time, and
   the peak of Python's allocations (tracemalloc) while streaming, beside the peak while
   streaming only the first tenth: constant memory means the two are alike
   (``--no-csv`` skips it: it takes minutes at a million).

Building a million tasks takes about five minutes a database: ``--keep DIR`` builds
into DIR (the SQLite file, a PostgreSQL data directory and the build's facts) and
leaves it there, ``--reuse DIR`` measures what is in DIR without building (migrating
it first, so a new index migration is measured on the same rows).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlmodel import SQLModel

from auth.identity import principal_for
from bench.overdue_sqlite import generate
from bench.report import cpu_model, load_average, pct, section, table
from db.engine import make_engine, migrate
from db.tables import CaseRow, DeadlineRow, TaskRow
from routing_rules import RuleSet, load_ruleset
from services.context import Context
from services.supervision import overdue, overdue_csv, overdue_rows
from settings import Settings

CHUNK = 5000
PAGE = 50
CLOCKS = ("sign_for", "reply", "statutory")
FACTS = "build.json"  # in a --keep directory: what was built, and the "now" it was built for
KINDS = ("department", "office", "category", "clock", "within")
# Every combination of none, one or two filters (an office names its department already).
COMBINATIONS: list[tuple[str, ...]] = [
    (),
    *((k,) for k in KINDS),
    *(c for c in itertools.combinations(KINDS, 2) if c != ("department", "office")),
]


@dataclass
class Args:
    tasks: int
    open_share: float
    queries: int
    dbs: list[str]
    seed: int
    each: int = 0
    csv: bool = True
    keep: Path | None = None
    reuse: bool = False


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--open-share", type=float, default=0.25)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--each", type=int, default=0, help="also N pages of every combination")
    p.add_argument("--no-csv", action="store_true", help="skip streaming the whole list")
    kept = p.add_mutually_exclusive_group()
    kept.add_argument("--keep", type=Path, metavar="DIR", help="build into DIR and keep it")
    kept.add_argument("--reuse", type=Path, metavar="DIR", help="measure what --keep built")
    ns = p.parse_args(argv)
    dbs = [d.strip() for d in ns.db.split(",") if d.strip()]
    if not dbs or set(dbs) - {"sqlite", "postgres"}:
        p.error("--db takes sqlite, postgres or both")
    if ns.tasks < 100 or not 0 < ns.open_share <= 1 or ns.queries < 1:
        p.error("--tasks ≥ 100, 0 < --open-share ≤ 1, --queries ≥ 1")
    if ns.each < 0:
        p.error("--each ≥ 0")
    if ns.keep is not None and ns.keep.exists() and any(ns.keep.iterdir()):
        p.error(f"--keep {ns.keep}: not empty (measure it again with --reuse)")
    if ns.reuse is not None and not (ns.reuse / FACTS).is_file():
        p.error(f"--reuse {ns.reuse}: no {FACTS} there (build it with --keep)")
    return Args(
        ns.tasks,
        ns.open_share,
        ns.queries,
        dbs,
        ns.seed,
        ns.each,
        not ns.no_csv,
        ns.keep or ns.reuse,
        ns.reuse is not None,
    )


def close_some(
    rows: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]],
    rng: random.Random,
    open_share: float,
    now: datetime,
) -> int:
    """Complete each task but ``open_share`` of them, as the store leaves a closed task."""
    case, tasks, deadlines = rows
    closed = set()
    for t in tasks:
        if rng.random() >= open_share:
            t["status"], t["outcome"] = "completed", "resolved"
            t["closed_at"] = now - timedelta(days=rng.uniform(0, 30))
            closed.add(t["task_id"])
    for d in deadlines:
        if d["task_id"] in closed and d["status"] != "stopped":
            d["status"], d["running_due_at"] = "stopped", None
            d["stopped_at"] = d["stopped_at"] or now - timedelta(days=1)
    if len(closed) == len(tasks):
        case["status"], case["closed_at"] = "closed", now - timedelta(days=1)
    return len(tasks) - len(closed)


def build(url: str, rules: RuleSet, args: Args, now: datetime) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    migrate(url)
    engine = make_engine(url)
    tables = SQLModel.metadata.tables
    targets = [
        tables[str(CaseRow.__tablename__)],
        tables[str(TaskRow.__tablename__)],
        tables[str(DeadlineRow.__tablename__)],
    ]
    rng = random.Random(args.seed + 7)
    opened = 0
    deadlines = 0
    buf: list[list[dict[str, Any]]] = [[], [], []]
    try:
        with engine.begin() as conn:
            for rows in generate(rules, args.tasks, random.Random(args.seed), now):
                opened += close_some(rows, rng, args.open_share, now)
                buf[0].append(rows[0])
                buf[1].extend(rows[1])
                buf[2].extend(rows[2])
                deadlines += len(rows[2])
                if len(buf[2]) >= CHUNK:
                    for t, b in zip(targets, buf, strict=True):
                        conn.execute(t.insert(), b)
                        b.clear()
            for t, b in zip(targets, buf, strict=True):
                if b:
                    conn.execute(t.insert(), b)
        if url.startswith("postgresql"):
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    sqlalchemy.text("VACUUM ANALYZE")
                )
    finally:
        engine.dispose()
    return opened, deadlines, time.perf_counter() - t0


def draw(rng: random.Random) -> tuple[str, ...]:
    """None, one or two filters, as supervisors combine them."""
    return rng.choice(
        [(), ("department",), ("office",), ("category",), ("clock",), ("within",)]
        + [("department", "clock"), ("category", "within"), ("office", "clock")]
    )


def label(kinds: tuple[str, ...]) -> str:
    return "+".join(kinds) or "none"


def filters(
    kinds: tuple[str, ...], rng: random.Random, rules: RuleSet, offices: list[tuple[str, str]]
) -> dict[str, Any]:
    """The filters' values for one page, drawn at random."""
    out: dict[str, Any] = {}
    for k in kinds:
        if k == "department":
            out["department"] = rng.choice(offices)[0]
        elif k == "office":
            out["department"], out["region"] = rng.choice(offices)
        elif k == "category":
            out["category"] = rng.choice(sorted(rules.categories))
        elif k == "clock":
            out["clock"] = rng.choice(CLOCKS)
        else:
            out["within"] = "1wd"
    return out


def peak_while(rows: Iterator[str]) -> tuple[int, int, float]:
    """Consume the CSV chunks; (rows, peak traced bytes, seconds)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    n = 0
    try:
        for chunk in rows:
            n += chunk.count("\n")
        return n - 1, tracemalloc.get_traced_memory()[1], time.perf_counter() - t0
    finally:
        tracemalloc.stop()


def per_combination(
    name: str, times: dict[str, list[float]], empty: dict[str, int]
) -> list[list[str]]:
    return [
        [
            name,
            k,
            str(len(ms)),
            f"{pct(ms, 50):.1f}",
            f"{pct(ms, 95):.1f}",
            f"{max(ms):.1f}",
            str(empty[k]),
        ]
        for k, ms in sorted(times.items(), key=lambda kv: -pct(kv[1], 95))
    ]


def measure(
    name: str, url: str, rules: RuleSet, args: Args, now: datetime
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """(summary rows, per combination of the random draw, per combination of --each)."""
    s = Settings(data_dir=Path(tempfile.gettempdir()), database_url=url, temporal_address=None)
    ctx = Context(settings=s, engine=make_engine(url))
    city = principal_for(ctx.rules, "sup.zhang")  # the city's supervisor: every office
    assert city is not None
    offices = sorted({(o.department, o.region) for o in rules.offices.values()})
    rng = random.Random(args.seed)
    rows_out: list[list[str]] = []

    def page(kinds: tuple[str, ...], times: dict[str, list[float]], empty: dict[str, int]) -> float:
        f = filters(kinds, rng, rules, offices)
        t0 = time.perf_counter()
        got = overdue(ctx, city, limit=PAGE, now=now, **f)
        took = (time.perf_counter() - t0) * 1000
        times.setdefault(label(kinds), []).append(took)
        empty[label(kinds)] = empty.get(label(kinds), 0) + (not got)
        return took

    try:
        overdue(ctx, city, limit=PAGE, now=now)  # warm-up: connection, caches
        drawn: dict[str, list[float]] = {}
        drawn_empty: dict[str, int] = {}
        ms = [page(draw(rng), drawn, drawn_empty) for _ in range(args.queries)]
        empty = sum(drawn_empty.values())
        every: dict[str, list[float]] = {}
        every_empty: dict[str, int] = {}
        for kinds in COMBINATIONS:
            for _ in range(args.each):
                page(kinds, every, every_empty)
        rows_out.append(
            [
                name,
                f"first page ({PAGE}), {args.queries} varied filters",
                f"{pct(ms, 50):.1f}",
                f"{pct(ms, 95):.1f}",
                f"{max(ms):.1f}",
                f"{empty} empty pages",
            ]
        )
        if not args.csv:
            return (
                rows_out,
                per_combination(name, drawn, drawn_empty),
                per_combination(name, every, every_empty),
            )
        total, peak_all, secs = peak_while(overdue_csv(overdue_rows(ctx, city, now=now)))
        tenth = max(1, total // 10)
        _, peak_tenth, _ = peak_while(
            overdue_csv(r for i, r in enumerate(overdue_rows(ctx, city, now=now)) if i < tenth)
        )
        rows_out.append(
            [
                name,
                f"whole list as CSV: {total:,} rows in {secs:.1f} s ({total / secs:,.0f}/s)",
                "",
                "",
                "",
                f"peak {peak_all / 2**20:.1f} MiB (first tenth: {peak_tenth / 2**20:.1f} MiB)",
            ]
        )
    finally:
        ctx.engine.dispose()
    return (
        rows_out,
        per_combination(name, drawn, drawn_empty),
        per_combination(name, every, every_empty),
    )


@contextlib.contextmanager
def database(kind: str, tmp: Path, kept: bool) -> Iterator[str]:
    """A URL of the database: in ``tmp``, fresh unless ``kept`` (then as --keep left it)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'appeals.db'}"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.chaos.pg import PgServer
    from tests.postgres import unavailable_reason

    why = unavailable_reason()
    if why:
        raise SystemExit(f"bench: PostgreSQL: {why}")
    server = PgServer()
    # Serve the data directory in tmp (kept there with --keep) instead of its own.
    server.root.rmdir()
    server.root, server.data, server.sock = tmp / "pg", tmp / "pg" / "data", tmp / "pg" / "sock"
    try:
        if not kept:
            server.root.mkdir()
            server.init()
        server.start()
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def place(args: Args) -> Iterator[Path]:
    """Where the databases live: --keep/--reuse's directory, or a temporary one."""
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        args.keep.chmod(0o755)  # the PostgreSQL server runs as postgres when we are root
        yield args.keep
        return
    with tempfile.TemporaryDirectory(prefix="appeals-scale-", ignore_cleanup_errors=True) as tmp:
        Path(tmp).chmod(0o755)
        yield Path(tmp)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    section("appeals benchmark: the overdue list at scale (no Temporal)")
    print(
        table(
            ["fact", "value"],
            [
                ["machine", f"{os.cpu_count()} cores, {cpu_model()}"],
                ["python", platform.python_version()],
                ["SQLAlchemy", sqlalchemy.__version__],
                ["SQLite", sqlite3.sqlite_version],
                ["load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())],
            ],
        )
    )
    print(
        f"\nparameters: tasks T={args.tasks:,}, open share {args.open_share:.0%}, "
        f"Q={args.queries} queries, seed {args.seed}, databases {', '.join(args.dbs)}"
    )
    rules = load_ruleset(Settings(temporal_address=None).rules_dir)
    now = datetime.now(UTC)
    results: list[list[str]] = []
    drawn: list[list[str]] = []
    every: list[list[str]] = []
    with place(args) as where:
        facts: dict[str, Any] = {}
        if args.reuse:
            facts = json.loads((where / FACTS).read_text())
            # The rows' clocks were set against the build's "now": ask as of it.
            now = datetime.fromisoformat(facts["now"])
        for kind in args.dbs:
            with database(kind, where, args.reuse) as url:
                if args.reuse:
                    if kind not in facts["built"]:
                        raise SystemExit(f"bench: --reuse {where}: no {kind} database there")
                    migrate(url)  # a migration added since is measured on the same rows
                    print(f"{kind}: reusing {where}: {facts['built'][kind]}")
                else:
                    opened, deadlines, secs = build(url, rules, args, now)
                    built = (
                        f"built {args.tasks:,} tasks ({opened:,} open), {deadlines:,} clocks "
                        f"in {secs:.0f} s"
                    )
                    print(f"{kind}: {built}")
                    facts.setdefault("built", {})[kind] = built
                    if args.keep is not None:
                        facts["now"] = now.isoformat()
                        (where / FACTS).write_text(json.dumps(facts))
                # The machine is shared: what else ran while this database was measured.
                print(f"{kind}: load average before measuring: {load_average()}")
                summary, by_draw, by_each = measure(kind, url, rules, args, now)
                print(f"{kind}: load average after measuring: {load_average()}")
                results.extend(summary)
                drawn.extend(by_draw)
                every.extend(by_each)
    section("Results")
    print(table(["database", "what", "p50 ms", "p95 ms", "max ms", "notes"], results))
    heads = ["database", "filters", "n", "p50 ms", "p95 ms", "max ms", "empty"]
    section("First pages by filter combination (the random draw), slowest p95 first")
    print(table(heads, drawn, right=range(2, 7)))
    if every:
        section(f"First pages by filter combination ({args.each} of each), slowest p95 first")
        print(table(heads, every, right=range(2, 7)))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
