"""The supervisors' figures at a million tasks, on SQLite and on PostgreSQL.

Run from the project root::

    .venv/bin/python bench/report_scale.py [--tasks 1000000] [--offices 60] [--runs 5]
        [--db sqlite|postgresql|both] [--pg-url URL] [--seed 1]

Builds a fresh read model (``db.engine.migrate``, as the server does) and bulk-inserts
T rows of ``task_figures`` directly (no workflows: this measures the report's SQL, not
the projection), spread over one year of receipts across O offices of the sample
directory, with realistic shares: 90 % signed (85 % of them on time), 80 % replied (80 %
on time), 70 % of replies resolved, 60 % of them called back (85 % satisfied), 3 %
returns (a fifth wrongful), 2 % transfers, 10 % breaching (rung 1; 30 % of those rung 2;
10 % rung 3), 5 % extensions asked (70 % granted), office-hour durations to sign and
reply. SQLite gets ``executemany`` on its own file; PostgreSQL gets ``COPY`` into a
throwaway server started as in the tests (``tests/postgres.py``: initdb in a temporary
directory, 127.0.0.1, a free port, fsync off), or the database at ``--pg-url`` (emptied).

It then times, R runs each after one warm-up run (a fresh session per run), through
``reports.figures`` exactly as ``appeals report`` and the page call it:

1. the office table of one month (about T/12 tasks),
2. the office table of the whole year (every row),
3. the office table of one quarter split by week,
4. one drill-down: one office's 签收率 tasks in that month, first page of 200.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, text
from sqlmodel import Session

from bench.report import cpu_model, med, section, table
from db.engine import make_engine, migrate
from reports.figures import Dimension, Period, Window, drill, figures
from routing_rules import load_ruleset

END = date(2026, 11, 30)  # the last day of receipts: a year up to it
CHUNK = 20000
COLUMNS = (
    "task_id", "case_id", "office_id", "office_name", "department", "region", "category",
    "platform", "role", "status", "received_at", "received_day", "received_week",
    "received_month", "origin", "sign_state", "reply_state", "sign_minutes", "reply_minutes",
    "outcome", "callback", "returned", "transferred", "wrongful_return", "max_rung",
    "extensions_asked", "extensions_granted",
)  # fmt: skip
PLATFORMS = ("meituan", "eleme", "didi", "sf", "jd", None)


class BenchError(RuntimeError):
    """The benchmark could not finish; the message says why in one line."""


def offices(count: int) -> list[tuple[str, str, str, str]]:
    """``count`` district offices of the sample directory: (id, name, department, region)."""
    rules = load_ruleset(Path("routing_rules/guangzhou"))
    found = [
        (o.id, o.name, o.department, o.region)
        for o in rules.office_entries
        if o.region in rules.regions and o.region != rules.deployment.root_region
    ]
    if len(found) < count:
        raise BenchError(f"the sample directory has {len(found)} district offices, not {count}")
    return found[:count]


def rows(
    total: int, office_list: list[tuple[str, str, str, str]], seed: int
) -> Iterator[tuple[Any, ...]]:
    rnd = random.Random(seed)
    categories = ("wage_arrears", "platform_penalty", "social_insurance", "housing", "parking")
    for n in range(total):
        oid, name, dept, region = office_list[rnd.randrange(len(office_list))]
        day = END - timedelta(days=rnd.randrange(365))
        at = datetime(
            day.year, day.month, day.day, rnd.randrange(1, 10), rnd.randrange(60), tzinfo=UTC
        )
        signed = rnd.random() < 0.90
        sign_state = ("on_time" if rnd.random() < 0.85 else "late") if signed else None
        replied = signed and rnd.random() < 0.80
        reply_state = ("on_time" if rnd.random() < 0.80 else "late") if replied else None
        outcome = ("resolved" if rnd.random() < 0.70 else "partially_resolved") if replied else None
        callback = None
        if outcome and rnd.random() < 0.60:
            callback = "satisfied" if rnd.random() < 0.85 else "unsatisfied"
        returned = not replied and rnd.random() < 0.15
        transferred = not replied and not returned and rnd.random() < 0.10
        breach = rnd.random() < 0.10
        rung = (3 if rnd.random() < 0.1 else 2 if rnd.random() < 0.3 else 1) if breach else 0
        asked = 1 if rnd.random() < 0.05 else 0
        yield (
            f"AP-B{n:08d}-T1", f"AP-B{n:08d}", oid, name, dept, region,
            categories[n % len(categories)], PLATFORMS[n % len(PLATFORMS)], "lead",
            "completed" if replied else ("returned" if returned else "accepted"),
            at, day, day - timedelta(days=day.weekday()), day.replace(day=1),
            "routed" if rnd.random() < 0.95 else "return", sign_state, reply_state,
            int(rnd.expovariate(1 / 300)) if signed else None,
            int(rnd.expovariate(1 / 1500)) if replied else None,
            outcome, callback, returned, transferred, returned and rnd.random() < 0.2,
            rung, asked, asked if rnd.random() < 0.7 else 0,
        )  # fmt: skip


def load_sqlite(path: Path, generated: Iterator[tuple[Any, ...]]) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" * len(COLUMNS))
        stmt = f"INSERT INTO task_figures ({', '.join(COLUMNS)}) VALUES ({marks})"
        while True:
            chunk = [_sqlite_row(r) for _, r in zip(range(CHUNK), generated, strict=False)]
            if not chunk:
                break
            con.executemany(stmt, chunk)
        con.commit()
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()


def _sqlite_row(r: tuple[Any, ...]) -> tuple[Any, ...]:
    # As the UtcDateTime column type stores instants, and Date columns their ISO text.
    out = list(r)
    out[10] = r[10].strftime("%Y-%m-%d %H:%M:%S.%f")
    for i in (11, 12, 13):
        out[i] = r[i].isoformat()
    return tuple(out)


def load_postgres(url: str, generated: Iterator[tuple[Any, ...]]) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        with cur.copy(f"COPY task_figures ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in generated:
                copy.write_row(r)
        cur.execute("ANALYZE task_figures")


def timed(runs: int, fn: Callable[[], Any]) -> tuple[list[float], Any]:
    fn()  # warm-up: caches, the planner's first look
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def measure(engine: Engine, runs: int, some_office: str) -> list[list[str]]:
    month = Window(END.replace(day=1), END)
    year = Window(END - timedelta(days=364), END)
    quarter = Window(END - timedelta(days=90), END, Period.week)

    def office_table(window: Window) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return figures(session=session, by=Dimension.office, window=window)

        return run

    def one_drill() -> Any:
        with Session(engine) as session:
            return drill(
                session=session, by=Dimension.office, key=some_office, metric="sign_rate",
                window=month, limit=200,
            )  # fmt: skip

    def rows_of(r: Any) -> str:
        return f"{len(r)} rows"

    def listed(r: Any) -> str:
        return f"{r[0]} tasks, {len(r[1])} listed"

    cases: list[tuple[str, Callable[[], Any], Callable[[Any], str]]] = [
        ("office table, one month", office_table(month), rows_of),
        ("office table, whole year", office_table(year), rows_of),
        ("office table, a quarter by week", office_table(quarter), rows_of),
        ("drill-down: one office's 签收率, one month, page of 200", one_drill, listed),
    ]
    out = []
    for label, fn, size in cases:
        times, result = timed(runs, fn)
        out.append([label, size(result), f"{med(times) * 1000:.0f}", f"{min(times) * 1000:.0f}"])
    return out


def print_times(engine: Engine, runs: int, office: str) -> None:
    headers = ["query", "result", "median ms", "best ms"]
    print(table(headers, measure(engine, runs, office), right=(2, 3)))


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        yield url
        return
    sys.path.insert(0, str(Path.cwd()))
    from tests.postgres import postgres_server, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise BenchError(f"cannot start PostgreSQL: {reason}; or pass --pg-url")
    with postgres_server() as started:
        yield started


def bench_db(
    kind: str, args: argparse.Namespace, office_list: list[tuple[str, str, str, str]]
) -> None:
    section(f"{kind}: {args.tasks:,} tasks across {len(office_list)} offices")
    with tempfile.TemporaryDirectory(prefix="appeals-report-") as tmp:
        if kind == "sqlite":
            path = Path(tmp) / "report.db"
            url = f"sqlite:///{path}"
            migrate(url)
            t = time.perf_counter()
            load_sqlite(path, rows(args.tasks, office_list, args.seed))
            loaded = time.perf_counter() - t
            engine = make_engine(url)
            size = f"{path.stat().st_size / 2**20:.0f} MiB file"
            try:
                print(f"loaded in {loaded:.1f} s ({size})")
                print_times(engine, args.runs, office_list[0][0])
            finally:
                engine.dispose()
            return
        with postgres(args.pg_url) as url:
            migrate(url)
            t = time.perf_counter()
            load_postgres(url, rows(args.tasks, office_list, args.seed))
            loaded = time.perf_counter() - t
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    version = conn.execute(text("SHOW server_version")).scalar_one()
                print(f"loaded in {loaded:.1f} s (PostgreSQL {version}, COPY)")
                print_times(engine, args.runs, office_list[0][0])
            finally:
                engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--offices", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=None, help="an existing database to use (emptied)")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.runs < 1 or args.offices < 1:
        parser.error("--tasks, --runs and --offices must be at least 1")
    try:
        office_list = offices(args.offices)
        section("machine")
        print(f"{os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}, "
              f"SQLAlchemy {sqlalchemy.__version__}, SQLite {sqlite3.sqlite_version}; "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
        for kind in ("sqlite", "postgresql"):
            if args.db in (kind, "both"):
                bench_db(kind, args, office_list)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
