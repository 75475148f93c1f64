"""Generated intakes and actions (issue 11): Hypothesis draws intakes and actions,
mostly well-formed and otherwise wrong as people and scripts are wrong, and sends them
through the API of a live stack (bench/chaos/generated.py), as every kind of person in
the directory.

Run from the project root::

    .venv/bin/python bench/generated.py                  # 10,000 steps (about 40 minutes)
    .venv/bin/python bench/generated.py --steps 500 --seed 7

About three steps in ten are intakes, the rest actions on the cases opened so far and
their tasks (a task's own handler half the time, anyone otherwise). It prints what was
answered, by step and status, and exits 0 when there were no tracebacks (in an answer,
in the API's or the worker's log), no answer 500 or above, every refusal one line in
``{"detail": …}``, and nothing in any workflow's history for a refused action (and no
workflow for a refused intake); else 1, with each problem on a line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.chaos.generated import STEPS, Tally, generate
from bench.chaos.stack import Stack
from bench.report import cpu_model, section, table
from bench.stack import run_bench

SHOWN = 30  # problems printed


def print_tally(t: Tally, seconds: float) -> None:
    section("Answers by step and status")
    by_step: dict[str, Counter[str]] = {}
    for key, n in t.answers.items():
        what, status = key.rsplit(" ", 1)
        by_step.setdefault(what, Counter())[status] = n
    rows = [
        [what, str(sum(c.values())), ", ".join(f"{s}: {n}" for s, n in sorted(c.items()))]
        for what, c in sorted(by_step.items())
    ]
    print(table(["step", "answers", "by status"], rows, right=[1]))
    five = sum(n for k, n in t.answers.items() if k.rsplit(" ", 1)[1].startswith("5"))
    print(
        f"\n{t.steps} generated steps in {seconds:.0f} s ({t.accepted} answers accepted); "
        f"answers 5xx: {five}; problems: {len(t.problems)}; load average now "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    if t.problems:
        section("PROBLEMS")
        for p in t.problems[:SHOWN]:
            print(f"  {p}")
        if len(t.problems) > SHOWN:
            print(f"  … and {len(t.problems) - SHOWN} more")


async def go(steps: int, seed: int, keep: bool) -> int:
    section("appeals: generated intakes and actions (issue 11)")
    print(
        f"{os.cpu_count()} cores, {cpu_model()}; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; {steps} steps, seed {seed}"
    )
    data = Path(tempfile.mkdtemp(prefix="appeals-generated-"))
    stack = Stack(data)
    try:
        await stack.start()
        started = time.monotonic()
        tally = await generate(stack, max(1, steps // STEPS), seed)
        seconds = time.monotonic() - started
    finally:
        await stack.stop()
        if keep:
            print(f"data and logs kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    print_tally(tally, seconds)
    return 1 if tally.problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10_000, help="steps to generate (default 10000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    ns = p.parse_args(argv)
    return run_bench(lambda: go(ns.steps, ns.seed, ns.keep), stopped="every process of the stack")


if __name__ == "__main__":
    sys.exit(main())
