"""Faults survived (issue 11): a load of cases through the API while the worker is
killed, the Temporal server restarted, the SMTP server and the database made
unavailable; then nothing may be lost, doubled or left behind.

Run from the project root::

    .venv/bin/python bench/faults.py                 # the full form (about 45 minutes)
    .venv/bin/python bench/faults.py --short         # the test suite's form (about 6)
    .venv/bin/python bench/faults.py --db postgres   # PostgreSQL, stopped for two minutes

The full form opens 1,000 cases (50 of them drill cases, urgent, on minute clocks) at
one a second through the API as the clerk; a tenth of the others are handled (accept,
note, then complete or return) by their lead office's handler. Meanwhile the worker
process (`appeals worker`) is killed with ``kill -9`` 20 times at random moments and
started again; the SMTP sink is down for ten minutes from the moment the drill cases are
opened, so their warnings and rungs fall due while no mail can leave; the Temporal dev
server is stopped and started again on the same file; and the database is unavailable
for two minutes (SQLite: another connection holds the write lock; PostgreSQL: the
server is stopped). While each of the last three lasts, probes open cases through the
API and with `appeals open`, note a task and run `appeals health --json`.

It then waits (at most ``--settle`` seconds) until every case is projected, every due
clock has fired and every mail is delivered, checks the invariants (bench/chaos/checks.py)
and `appeals reconcile --json`, prints the figures, and exits 0 when every invariant
holds, 1 when one does not (each failure on a line of its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import temporalio

from bench.chaos.scenario import FULL, SHORT, Outcome, Plan, run_plan
from bench.report import cpu_model, section, table
from bench.stack import run_bench, temporal_version


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, bool]:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="the test suite's short form")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--cases", type=int, help="intakes the load opens (full: 1000)")
    p.add_argument("--kills", type=int, help="kill -9 of the worker (full: 20)")
    p.add_argument("--smtp-down", type=float, help="seconds the SMTP sink is down (full: 600)")
    p.add_argument("--db-down", type=float, help="seconds the database is unavailable (full: 120)")
    p.add_argument("--settle", type=float, help="seconds to wait for catching up (full: 1800)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    ns = p.parse_args(argv)
    plan = SHORT if ns.short else FULL
    changes = {
        k: v
        for k, v in {
            "cases": ns.cases,
            "kills": ns.kills,
            "smtp_down": ns.smtp_down,
            "db_down": ns.db_down,
            "settle": ns.settle,
        }.items()
        if v is not None
    }
    plan = dataclasses.replace(plan, db=ns.db, seed=ns.seed, **changes)
    if plan.cases <= plan.drill:
        p.error(f"--cases must be more than the {plan.drill} drill cases")
    return plan, ns.keep


def print_facts(plan: Plan) -> None:
    section("appeals: faults survived (issue 11)")
    rows = [
        ["machine", f"{os.cpu_count()} cores, {cpu_model()}"],
        ["system", f"{platform.system()} {platform.release()}, Python {platform.python_version()}"],
        ["temporalio / dev server", f"{temporalio.__version__} / {temporal_version()}"],
        ["read model", f"{plan.db} (SQLite {sqlite3.sqlite_version})"],
        ["load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())],
    ]
    print(table(["fact", "value"], rows))
    print(
        f"\nplan: {plan.cases} cases ({plan.drill} drill) at {plan.rate}/s, {plan.concurrency} "
        f"at a time, {plan.act_share:.0%} handled; {plan.kills} worker kills; SMTP down "
        f"{plan.smtp_down:.0f} s from {plan.smtp_at:.0f} s; Temporal down "
        f"{plan.temporal_down:.0f} s at {plan.temporal_at:.0f} s; database down "
        f"{plan.db_down:.0f} s at {plan.db_at:.0f} s; seed {plan.seed}\n"
    )


def print_outcome(o: Outcome) -> None:
    section("Figures")
    print(table(["figure", "value"], o.verdict.rows, right=[1]))
    if o.load:
        ones = [x[0] for x in o.load]
        print(
            f"\nrun took {o.seconds:.0f} s; machine load average (1 min) during it: min "
            f"{min(ones):.2f}, median {statistics.median(ones):.2f}, max {max(ones):.2f} "
            f"on {os.cpu_count()} cores"
        )
    if o.verdict.failures:
        section("FAILURES")
        for line in o.verdict.failures:
            print(f"  {line}")
    else:
        print("\nevery invariant held.")


async def go(plan: Plan, keep: bool) -> int:
    print_facts(plan)
    data = Path(tempfile.mkdtemp(prefix="appeals-faults-"))
    try:
        outcome = await run_plan(plan, data)
    finally:
        if keep:
            print(f"data and logs kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    if keep and outcome.verdict.at_fault:
        with (data / "failures.txt").open("w") as out:
            for why, bad in outcome.verdict.at_fault.items():
                out.write(f"{why}:\n" + "".join(f"  {b}\n" for b in bad))
        print(f"every failing id in {data / 'failures.txt'}")
    print_outcome(outcome)
    return 1 if outcome.verdict.failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    plan, keep = parse_args(argv)
    return run_bench(lambda: go(plan, keep), stopped="every process of the stack")


if __name__ == "__main__":
    sys.exit(main())
