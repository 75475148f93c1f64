"""Two worker processes sharing one load: nothing lost, nothing doubled, one killed midway.

Run from the project root::

    .venv/bin/python bench/two_workers.py [--cases 300] [--rate 3] [--actions 100] [--no-kill]

One embedded stack (``devstack.embedded_stack``: Temporal dev server, SMTP sink, SQLite
read model) on a free port, with NO worker in this process. Two ``worker.py``
processes (``appeals worker``, as production runs them) are started against it, on
the same namespace, task queue and read model. The benchmark opens N urgent cases at R
a second as ``appeals open`` does (an urgent new task is mailed to its office at once),
kills worker B with SIGKILL when half of them are started (unless ``--no-kill``), then,
once every case is projected, accepts and notes M tasks as their handlers through
``services.temporal.update`` (as the CLI does) while worker A is alone.

Then it counts, in Temporal and in the read model: cases, tasks, 'opened', 'routed' and
'dispatched' audit rows, accepted tasks, outbox rows and their deliveries at the SMTP
sink (by notification id and by Message-ID), and which worker process ran each workflow
task and activity (the worker identity in the histories). Every count must be exactly
what the routing planned: nothing lost, nothing doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import temporalio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

import devstack
from bench.escalation import DELIVERIES, CountingSink, read_eml
from bench.report import cpu_model, load_average, section, table
from bench.stack import BenchError, WorkerProcess, free_base_port, run_bench, temporal_version
from bench.throughput import PlannedCase, ReadModel, plan_cases, start_case, wait_projected
from client import connect
from models.routing import RoutingFacts
from models.tasks import AcceptInput, ActionResult, NoteInput
from routing_rules import RuleSet, load_ruleset
from services.errors import ServiceError
from services.temporal import update
from settings import Settings

SETTLE = 20.0  # seconds with no new mail before the counts are taken


@dataclass
class Args:
    cases: int
    rate: float
    actions: int
    kill: bool
    seed: int


def parse_args(argv: Sequence[str] | None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=300, help="cases to open (default 300)")
    p.add_argument("--rate", type=float, default=3.0, help="cases started a second (default 3)")
    p.add_argument("--actions", type=int, default=100, help="tasks accepted and noted")
    p.add_argument("--no-kill", action="store_true", help="leave worker B running")
    p.add_argument("--seed", type=int, default=11, help="seed of the intakes (default 11)")
    ns = p.parse_args(argv)
    if ns.cases < 2 or ns.rate <= 0 or ns.actions < 0:
        p.error("--cases ≥ 2, --rate > 0, --actions ≥ 0")
    return Args(ns.cases, ns.rate, ns.actions, not ns.no_kill, ns.seed)


@contextlib.asynccontextmanager
async def stack(tmp: Path) -> AsyncIterator[Settings]:
    original = devstack.MailSink
    setattr(devstack, "MailSink", CountingSink)  # noqa: B010 (embedded_stack looks it up)
    try:
        base = Settings(
            data_dir=tmp / "stack",
            embedded_port=free_base_port(random.Random()),
            temporal_address=None,
            database_url=None,
            smtp_port=None,
        )
        try:
            async with devstack.embedded_stack(base) as live:
                yield live
        except devstack.StackError as e:
            raise BenchError(f"the embedded stack did not start: {e}") from e
    finally:
        setattr(devstack, "MailSink", original)  # noqa: B010


async def counts(db: ReadModel, queries: dict[str, str]) -> dict[str, int]:
    return {k: int((await db.query(sql))[0][0]) for k, sql in queries.items()}


def all_tasks(rules: RuleSet, c: PlannedCase) -> int:
    """Every task the routing starts: lead, co-handlers and the platform's liaison."""
    f = c.form
    facts = RoutingFacts(
        category=f.category,
        occupation=f.occupation,
        platform=f.platform,
        summary=f.summary,
        residence=f.residence,
        workplace=f.workplace,
        incident=f.incident,
    )
    d = rules.route(facts)
    return 1 + len(d.co) + (d.liaison is not None)


async def identities(client: Client, workflow_ids: Sequence[str]) -> Counter[str]:
    """Which worker identity ran each workflow task and activity in these histories."""
    seen: Counter[str] = Counter()
    gate = asyncio.Semaphore(10)

    async def one(wid: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(wid).fetch_history()
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                seen[f"workflow task by {e.workflow_task_started_event_attributes.identity}"] += 1
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                seen[f"activity by {e.activity_task_started_event_attributes.identity}"] += 1

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return seen


async def run(args: Args) -> int:
    section("appeals benchmark: two worker processes, one namespace, one read model")
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
    stamp = time.strftime("%Y%m%d%H%M%S")
    prefix = f"two-{stamp}-"
    with tempfile.TemporaryDirectory(prefix="appeals-two-", ignore_cleanup_errors=True) as t:
        async with stack(Path(t)) as live:
            rules = load_ruleset(live.rules_dir)
            planned = [
                PlannedCase(
                    c.form.model_copy(update={"urgent": True}), c.case_id, c.clerk, c.rule, c.tasks
                )
                for c in plan_cases(rules, random.Random(args.seed), prefix, args.cases)
            ]
            want_tasks = sum(all_tasks(rules, c) for c in planned)
            print(
                f"\nparameters: {args.cases} urgent cases ({want_tasks} tasks) at {args.rate:g}/s,"
                f" then {args.actions} accepts and notes; worker B "
                f"{'killed (SIGKILL) half-way through the opening' if args.kill else 'kept'}; "
                f"seed {args.seed}\nstack: dev server 127.0.0.1:{live.embedded_port}, "
                f"data {live.data_dir}"
            )
            workers = {"A": WorkerProcess("A", live), "B": WorkerProcess("B", live)}
            db = ReadModel(live.db_url)
            try:
                return await drive(args, live, planned, want_tasks, workers, db)
            finally:
                db.close()
                for w in workers.values():
                    w.stop()


async def drive(
    args: Args,
    live: Settings,
    planned: list[PlannedCase],
    want_tasks: int,
    workers: dict[str, WorkerProcess],
    db: ReadModel,
) -> int:
    client = await connect(live)
    pids = {str(w.pid): name for name, w in workers.items()}
    killed_at: float | None = None
    t0 = time.monotonic()

    def check() -> None:
        for name, w in workers.items():
            if w.proc.poll() is not None and not (name == "B" and killed_at is not None):
                raise BenchError(f"worker {name} exited ({w.proc.returncode}); see {w.log}")

    async def one(i: int, c: PlannedCase) -> None:
        nonlocal killed_at
        await asyncio.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
        if args.kill and i == len(planned) // 2 and killed_at is None:
            workers["B"].kill()
            killed_at = time.monotonic() - t0
            print(f"  worker B (pid {workers['B'].pid}) killed at {killed_at:.1f} s, case {i}")
        await start_case(client, live, c)

    await asyncio.gather(*(one(i, c) for i, c in enumerate(planned)))
    starts = time.monotonic() - t0
    await wait_projected(db, prefix_of(planned), planned, check)
    print(
        f"  {len(planned)} cases started in {starts:.1f} s, every one projected after "
        f"{time.monotonic() - t0:.1f} s; load {load_average()}"
    )

    # Actions while worker A is alone (B is dead when --kill).
    rows = await db.query(
        "SELECT task_id, office_id FROM tasks WHERE status = 'dispatched' ORDER BY task_id"
    )
    rules = load_ruleset(live.rules_dir)
    picked = [(t, rules.handlers_of(o)[0]) for t, o in rows if rules.handlers_of(o)]
    picked = picked[: args.actions]
    errors: list[str] = []
    gate = asyncio.Semaphore(4)

    async def act(task_id: str, handler: str) -> None:
        async with gate:
            try:
                await update(
                    client, task_id, "task", "accept", AcceptInput(actor=handler), ActionResult
                )
                await update(
                    client,
                    task_id,
                    "task",
                    "note",
                    NoteInput(actor=handler, text="已电话联系当事人。"),
                    ActionResult,
                )
            except ServiceError as e:
                errors.append(f"{task_id}: {e}")

    a0 = time.monotonic()
    await asyncio.gather(*(act(t, h) for t, h in picked))
    print(
        f"  {len(picked)} accepts and notes in {time.monotonic() - a0:.1f} s ({len(errors)} errors)"
    )

    # Let the mail settle: no new delivery for SETTLE seconds.
    last = -1
    while len(DELIVERIES) != last:
        last = len(DELIVERIES)
        check()
        await asyncio.sleep(SETTLE)

    return await report(
        args, client, live, planned, want_tasks, picked, errors, pids, db, killed_at
    )


def prefix_of(planned: Sequence[PlannedCase]) -> str:
    return planned[0].form.request_id.rsplit("-", 1)[0] + "-"


async def report(
    args: Args,
    client: Client,
    live: Settings,
    planned: list[PlannedCase],
    want_tasks: int,
    picked: list[tuple[str, str]],
    errors: list[str],
    pids: dict[str, str],
    db: ReadModel,
    killed_at: float | None,
) -> int:
    n = len(planned)
    case_wf = await client.count_workflows("WorkflowType = 'GrievanceWorkflow'")
    task_wf = await client.count_workflows("WorkflowType = 'DepartmentTaskWorkflow'")
    mail_wf = await client.count_workflows("WorkflowType = 'NotificationWorkflow'")
    outbox = await db.query("SELECT id, status, attempts FROM outbox")
    eml = read_eml(live.mail_dir)
    sink_n = Counter(d.notification for d in DELIVERIES)
    sink_m = Counter(d.message_id for d in DELIVERIES)
    eml_n = Counter(x for x, _, _ in eml)
    eml_m = Counter(m for _, m, _ in eml)
    sent = {r[0] for r in outbox if r[1] == "sent"}
    acted = len(picked) - len(errors)
    c = await counts(
        db,
        {
            "cases": "SELECT count(*) FROM cases",
            "routed": "SELECT count(*) FROM cases WHERE rule_id IS NOT NULL",
            "tasks": "SELECT count(*) FROM tasks",
            "opened": "SELECT count(*) FROM events WHERE action = 'opened'",
            "routed rows": "SELECT count(*) FROM events WHERE action = 'routed'",
            "dispatched": "SELECT count(*) FROM events WHERE action = 'dispatched'",
            "accepted": "SELECT count(*) FROM tasks WHERE status = 'accepted'",
            "accepted rows": "SELECT count(*) FROM events WHERE action = 'accepted'",
            "notes": "SELECT count(*) FROM events WHERE action = 'note'",
            # A task's first mail: to its office (…:new), or to the other region's
            # hotline for an external hand-off.
            "no new-task mail": "SELECT count(*) FROM tasks t WHERE NOT EXISTS "
            "(SELECT 1 FROM outbox o WHERE o.task_id = t.task_id)",
        },
    )
    checks: list[tuple[str, int, int]] = [
        ("case workflows (Temporal)", case_wf.count, n),
        ("task workflows (Temporal)", task_wf.count, want_tasks),
        ("cases in the read model", c["cases"], n),
        ("cases routed", c["routed"], n),
        ("tasks in the read model", c["tasks"], want_tasks),
        ("'opened' audit rows", c["opened"], n),
        ("'routed' audit rows", c["routed rows"], n),
        ("'dispatched' audit rows", c["dispatched"], want_tasks),
        ("tasks accepted", c["accepted"], acted),
        ("'accepted' audit rows", c["accepted rows"], acted),
        ("'note' audit rows", c["notes"], acted),
        ("tasks without an outbox row (their first mail)", c["no new-task mail"], 0),
        ("outbox rows sent (all of them)", len(sent), len(outbox)),
        # A task's mail has no workflow since patches.MAIL_THROUGH_OUTBOX: both workers'
        # outbox relays send from the same rows (each once: the sink's counts below).
        ("notification workflows (Temporal)", mail_wf.count, 0),
        ("sink deliveries", sum(sink_n.values()), len(outbox)),
        ("… distinct notification ids", len(sink_n), len(outbox)),
        ("… distinct Message-IDs", len(sink_m), len(outbox)),
        (".eml files", len(eml), len(outbox)),
        ("… distinct notification ids", len(eml_n), len(outbox)),
        ("… distinct Message-IDs", len(eml_m), len(outbox)),
        ("sent rows never delivered", len(sent - set(sink_n)), 0),
    ]
    section("Nothing lost, nothing doubled")
    rows = [
        [what, str(got), str(want), "ok" if got == want else "WRONG"] for what, got, want in checks
    ]
    print(table(["count", "got", "want", ""], rows, right=[1, 2]))
    retried = [r for r in outbox if r[2] > 1]
    print(f"outbox rows sent after more than one attempt: {len(retried)}")

    sample = random.Random(1).sample([c.case_id for c in planned], min(60, n))
    task_ids = [r[0] for r in await db.query("SELECT task_id FROM tasks")]
    ids = await identities(
        client, [*sample, *random.Random(2).sample(task_ids, min(100, len(task_ids)))]
    )
    section("Who did the work (60 sampled cases and 100 sampled tasks, from their histories)")
    named: Counter[str] = Counter()
    for key, count in ids.items():
        what, _, ident = key.partition(" by ")
        pid = ident.split("@", 1)[0]
        who = pids.get(pid, ident) if ident else "? (no identity in the event)"
        named[f"{what} by worker {who}"] += count
    print(table(["what", "count"], [[k, str(v)] for k, v in sorted(named.items())], right=[1]))
    if killed_at is not None:
        print(f"worker B was killed (SIGKILL) {killed_at:.1f} s into the opening")
    print(
        f"\nload average at the end (1, 5, 15 min): {load_average()} on {os.cpu_count()} "
        "cores shared with other users' work"
    )
    bad = [what for what, got, want in checks if got != want]
    if bad or errors:
        print("\nFAILURES: " + "; ".join(bad + errors[:5]))
        return 1
    print("\nnothing lost, nothing doubled.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda: run(args), stopped="the stack and both workers")


if __name__ == "__main__":
    sys.exit(main())
