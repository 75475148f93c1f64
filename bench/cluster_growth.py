"""What one concentrated-grievance cluster costs as it grows: a join's workflow task,
its history, and the replay a worker pays when the cluster leaves its cache.

Run from the project root::

    .venv/bin/python bench/cluster_growth.py [--joins 600] [--rate 5] [--port P]

The embedded stack and the engine's real worker (as in the other benchmarks). ``--joins``
cases of one key (美团 · 拖欠劳动报酬, in turn across Guangzhou's districts) join their
platform cluster the way a new case does (the ``join_clusters`` activity's own code:
signal-with-start), ``--rate`` a second. Then it reads the cluster's histories (every
run) and prints, by the cluster's size when the join arrived:

* the join's workflow task: how long it ran (started → completed) and how many attempts
  failed or timed out;
* the run's history then: events and the bytes of its first event (what the run carries
  in);
* join → member visible in the read model (the board's list of members), median and max;

and how long replaying each run's whole history takes on this machine (what a worker
pays for the next join when the cluster has left its sticky cache, or its workflow task
timed out). It exits 1 with one line if a member never reaches the read model.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project's packages
    sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, select  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.testing import ActivityEnvironment  # noqa: E402

from activities.clusters import ClusterActivities  # noqa: E402
from activities.routing import RoutingActivities  # noqa: E402
from bench.report import med, pct, section, table  # noqa: E402
from bench.stack import BenchError, run_bench, stack_and_worker, temporal_version  # noqa: E402
from client import connect  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.tables import ClusterMemberRow  # noqa: E402
from models.clusters import JoinClustersRequest  # noqa: E402
from worker import replayer as worker_replayer  # noqa: E402

KEY = "CL-platform-wage_arrears-meituan"
DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113")
BUCKET = 100  # members per row of the table


@dataclasses.dataclass
class Joined:
    case_id: str
    sent: float  # monotonic
    seen: float | None = None


async def join_all(
    acts: ClusterActivities, task_queue: str, joins: int, rate: float, done: list[Joined]
) -> None:
    """Join ``joins`` cases, appending each to ``done`` as it is sent."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, task_queue=task_queue)
    start = time.monotonic()
    for i in range(joins):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        district = DISTRICTS[i % len(DISTRICTS)]
        case_id = f"AP-BENCH{i:06d}"
        req = JoinClustersRequest(
            case_id=case_id,
            category="wage_arrears",
            platform="meituan",
            place=district,
            region=district,
            department="hrss",
            opened_at=datetime.now(UTC),
        )
        done.append(Joined(case_id, time.monotonic()))
        got = await env.run(acts.join_clusters, req)
        if KEY not in got.clusters:
            raise BenchError(f"{case_id} did not join {KEY}: {got.clusters}")


async def watch_members(engine_url: str, joined: list[Joined], joins: int) -> None:
    """Note when each member first shows in the read model (polled every 50 ms)."""
    engine = make_engine(engine_url)
    deadline = None
    while True:
        by_id = {j.case_id: j for j in joined if j.seen is None}
        with Session(engine) as session:
            seen = session.exec(
                select(ClusterMemberRow.case_id).where(col(ClusterMemberRow.case_id).in_(by_id))
            ).all()
        now = time.monotonic()
        for case_id in seen:
            j = by_id.get(case_id)
            if j is not None and j.seen is None:
                j.seen = now
        if len(joined) == joins and all(j.seen is not None for j in joined):
            return
        if len(joined) == joins:
            deadline = deadline or now + 120
            if now > deadline:
                missing = sum(j.seen is None for j in joined)
                raise BenchError(f"{missing} members never reached the read model in 120 s")
        await asyncio.sleep(0.05)


@dataclasses.dataclass
class Task:
    size: int  # members before this task's joins
    run_ms: float
    failed: int  # attempts of it that failed or timed out


def join_tasks(history: WorkflowHistory, size: int) -> tuple[list[Task], int]:
    """The workflow tasks that took joins, with the cluster's size before each; the size
    after the run."""
    tasks: list[Task] = []
    pending = 0  # joins signalled since the last completed task
    failed = 0
    started_at: datetime | None = None
    for e in history.events:
        t = e.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            pending += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started_at = e.event_time.ToDatetime()
        elif t in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        ):
            failed += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started_at is not None:
            if pending:
                run = (e.event_time.ToDatetime() - started_at).total_seconds() * 1000
                tasks.append(Task(size, run, failed))
                size += pending
            pending, failed = 0, 0
    return tasks, size


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="cluster-growth-") as tmp:
        async with stack_and_worker(args.port, Path(tmp)) as (live, worker):
            client = await connect(live)
            routing = RoutingActivities(live.rules_dir)
            acts = ClusterActivities(
                lambda: client, routing, live.rules_dir, make_engine(live.db_url)
            )
            print(f"temporal {temporal_version()}; {args.joins} joins at {args.rate}/s to {KEY}")
            joined: list[Joined] = []
            t0 = time.monotonic()
            watcher = asyncio.create_task(watch_members(live.db_url, joined, args.joins))
            await join_all(acts, live.task_queue, args.joins, args.rate, joined)
            await watcher
            if worker.done():
                worker.result()  # the worker failed: say why
            print(
                f"all {len(joined)} members in the read model after {time.monotonic() - t0:.0f} s"
            )
            runs = [w async for w in client.list_workflows(f'WorkflowId = "{KEY}"')]
            runs.sort(key=lambda w: w.start_time)
            histories = [
                await client.get_workflow_handle(KEY, run_id=w.run_id).fetch_history() for w in runs
            ]
            await report(joined, histories, client)
            return 0


async def report(joined: list[Joined], histories: list[WorkflowHistory], client: Client) -> None:
    # As the worker replays it: the same runner, in the settings' sandbox mode.
    replayer = worker_replayer(client.data_converter)
    tasks: list[Task] = []
    size = 0
    rows = []
    for n, h in enumerate(histories, 1):
        first = h.events[0].workflow_execution_started_event_attributes
        carried = sum(len(p.data) for p in first.input.payloads)
        before = size
        got, size = join_tasks(h, size)
        tasks += got
        t = time.perf_counter()
        await replayer.replay_workflow(h)
        replay_ms = (time.perf_counter() - t) * 1000
        rows.append(
            [
                str(n),
                f"{before}–{size}",
                str(len(h.events)),
                f"{carried / 1024:.1f}",
                f"{replay_ms:.0f}",
            ]
        )
    section("Each run of the cluster workflow")
    print(table(["run", "members", "events", "carried KiB", "replay ms"], rows, right=(0, 2, 3, 4)))

    section(f"Join workflow tasks by the cluster's size ({BUCKET} members a row)")
    buckets: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        buckets[task.size // BUCKET].append(task)
    lags: dict[int, list[float]] = defaultdict(list)
    for i, j in enumerate(joined):
        lags[i // BUCKET].append(((j.seen or j.sent) - j.sent) * 1000)
    rows = []
    for b in sorted(set(buckets) | set(lags)):
        ts = buckets.get(b, [])
        runs = [t.run_ms for t in ts]
        rows.append(
            [
                f"{b * BUCKET}–{(b + 1) * BUCKET - 1}",
                str(len(ts)),
                f"{med(runs):.0f}",
                f"{pct(runs, 90):.0f}",
                f"{max(runs, default=float('nan')):.0f}",
                str(sum(t.failed for t in ts)),
                f"{med(lags[b]):.0f}",
                f"{max(lags[b], default=float('nan')):.0f}",
            ]
        )
    headers = ["size", "tasks", "run p50 ms", "p90", "max", "failed", "visible p50 ms", "max"]
    print(table(headers, rows, right=range(1, 8)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--joins", type=int, default=600)
    p.add_argument("--rate", type=float, default=5.0)
    p.add_argument("--port", type=int, default=None)
    args = p.parse_args()
    if args.joins < 1 or args.rate <= 0:
        p.error("--joins must be ≥ 1 and --rate > 0")
    return run_bench(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
