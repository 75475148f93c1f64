"""Wiring: builds settings, the read model, the calendar and the activities, and runs the Worker."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import gc
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Interceptor, Replayer, Worker

from activities.calendar_source import CalendarSource
from activities.clocks import ClockActivities
from activities.clusters import ClusterActivities
from activities.digest import DigestActivities
from activities.facts import FigureMath
from activities.notify import NotifyActivities
from activities.purge import PurgeActivities
from activities.relay import OutboxRelay
from activities.routing import RoutingActivities
from activities.smtp import EmailSender, SmtpSender
from activities.store import StoreActivities
from client import connect
from db.engine import make_engine, migrate
from sandbox import runner
from schedules import ensure_schedules
from settings import Settings, load_settings
from sla.arithmetic import SHANGHAI
from sla.calendar import load_sources
from workflows.cluster import ClusterWorkflow
from workflows.department_task import DepartmentTaskWorkflow
from workflows.digest import DigestWorkflow, WeeklyReportWorkflow
from workflows.grievance import GrievanceWorkflow
from workflows.notification import NotificationWorkflow
from workflows.purge import PurgeWorkflow

log = logging.getLogger(__name__)
DB_RETRY_MAX = 30.0  # seconds between two tries of an unreachable read model, at most
WORKFLOWS: Sequence[type] = (
    GrievanceWorkflow,
    DepartmentTaskWorkflow,
    NotificationWorkflow,
    DigestWorkflow,
    WeeklyReportWorkflow,
    ClusterWorkflow,
    PurgeWorkflow,
)


def build_activities(
    settings: Settings,
    engine: Engine,
    sender: EmailSender | None = None,
    client: Client | None = None,
) -> list[Any]:
    """Every activity, bound to its dependencies. Tests call this too; without a
    client, a case's join_clusters activity fails (and the case goes on without)."""
    calendar = CalendarSource(settings.rules_dir / "calendar.yaml")
    store = StoreActivities(engine, FigureMath(calendar, settings.tz))
    routing = RoutingActivities(settings.rules_dir)
    clocks = ClockActivities(calendar, settings.tz)
    digest = DigestActivities(engine, routing, calendar, settings.tz)
    notify = NotifyActivities(
        engine,
        sender or SmtpSender.from_settings(settings),
        settings.mail_from,
        settings.admin_mail,
    )
    purge = PurgeActivities(
        engine,
        retention_days=settings.retention_days,
        repeat_window_days=settings.repeat_window_days,
    )
    clusters = ClusterActivities(lambda: _need(client), routing, settings.rules_dir, engine)
    return [
        clusters.join_clusters,
        clusters.project_cluster,
        notify.queue,
        notify.start,
        notify.send,
        notify.mark_failed,
        store.project,
        routing.route_case,
        routing.resolve_office,
        routing.get_plan,
        routing.supervisors_for,
        routing.clerk_head,
        clocks.compute_deadlines,
        clocks.clock_op,
        clocks.office_time,
        digest.plan_digest,
        digest.plan_weekly_report,
        purge.run,
    ]


def build_relay(
    settings: Settings, engine: Engine, sender: EmailSender | None = None
) -> OutboxRelay:
    """The outbox relay that sends the mails tasks queue (activities/relay.py); every
    worker process runs one, and they share the rows without sending one twice."""
    sender = sender or SmtpSender.from_settings(settings)
    notify = NotifyActivities(engine, sender, settings.mail_from, settings.admin_mail)
    return OutboxRelay(
        engine,
        notify,
        sender,
        batch=settings.mail_batch,
        poll=settings.mail_poll_seconds,
        concurrency=settings.mail_concurrency,
    )


def _need(client: Client | None) -> Client:
    if client is None:
        raise RuntimeError("join_clusters needs a Temporal client (build_activities(client=…))")
    return client


WORKFLOW_CODE = Path(__file__).resolve().parent / "workflows"


def compile_workflow_code(package: Path = WORKFLOW_CODE) -> bool:
    """Write the bytecode of the workflow modules if it is missing or stale; whether it
    is there now.

    The sandbox imports the workflow modules afresh for every workflow it loads: each new
    case and task, and each replay after the cache let a workflow go. Where no bytecode
    was written (PYTHONDONTWRITEBYTECODE, common in container images; a tree installed
    from source and never compiled), every one of those compiled the source again:
    10 % of the worker's CPU in bench/throughput.py, 0.05 s of it a case. compileall
    writes the files whatever that variable says; a tree it cannot write is left as it
    is (the workers then compile, as before)."""
    ok = compileall.compile_dir(package, quiet=2, maxlevels=0)
    if not ok:
        log.warning("cannot write the bytecode of %s; the workflow sandbox compiles it", package)
    return bool(ok)


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    task_queue: str | None = None,
    executor: ThreadPoolExecutor,
    max_cached_workflows: int = 1000,
    max_concurrent_workflow_tasks: int | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    compile_workflow_code()
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(settings, engine, client=client),
        # Store, routing and clock activities are synchronous (SQLAlchemy, file
        # reads): they run in threads so they never block the workflow event loop.
        # Each is declared no_thread_cancel_exception: Temporal's cancellation would
        # otherwise raise inside the thread at any line, and raised inside the database
        # driver it left a transaction open holding row locks
        # (tests/db/test_cancelled_write.py).
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        interceptors=interceptors,
        # The sandbox without its per-payload costs, holding the workflow code as the
        # settings say (sandbox.py).
        workflow_runner=runner(settings.workflow_sandbox),
    )


def replayer(data_converter: DataConverter, sandbox: str | None = None) -> Replayer:
    """A Replayer of the workflows as the worker runs them (the same runner, in the
    ``sandbox`` mode given or else the settings'), for the replay tests over saved and
    fresh histories and for bench/cluster_growth.py."""
    return Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=runner(sandbox or Settings().workflow_sandbox),
        data_converter=data_converter,
    )


class Capacity(TypedDict):
    max_cached_workflows: int
    max_concurrent_workflow_tasks: int


def capacity(settings: Settings) -> Capacity:
    """build_worker's capacity arguments from the settings (APPEALS_WORKER_*); the
    activity threads are the executor's size."""
    return {
        "max_cached_workflows": settings.worker_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_workflow_slots,
    }


async def migrated(settings: Settings, stop: asyncio.Event | None = None) -> bool:
    """Migrate the read model, waiting for it while it does not answer; False if
    stopped first. A worker started while the database is down (a restart during an
    outage) waits and says so, rather than exiting and being started again and again
    (the fault harness saw that loop while PostgreSQL was stopped)."""
    pause = 1.0
    while True:
        try:
            await asyncio.to_thread(migrate, settings.db_url)
            return True
        except OperationalError as e:  # unreachable or locked, not a wrong schema
            why = " ".join(str(e.orig or e).split())[:200]
            log.warning("the read model does not answer (%s); trying again in %.0f s", why, pause)
        if stop is None:
            await asyncio.sleep(pause)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            if stop.is_set():
                return False
        pause = min(pause * 2, DB_RETRY_MAX)


def freeze_startup_heap() -> None:
    """Leave what the process holds now out of every later garbage collection.

    Called once a process that runs for good has imported and built everything (a
    worker, the API): those objects live as long as the process, yet a full collection
    scanned all of them each time, and nothing else in the process runs while it does.
    Frozen objects are never collected, so only a process's own entry point calls this,
    after collecting: never a test or a caller that builds workers again and again.
    """
    # The calendar data of the years deadlines fall in, which clocks and figures would
    # otherwise load later, after the freeze.
    this_year = datetime.now(SHANGHAI).year
    load_sources(range(this_year, this_year + 2))
    gc.collect()
    gc.freeze()


async def run_worker(
    settings: Settings, stop: asyncio.Event | None = None, *, own_process: bool = False
) -> None:
    # One for each activity thread, and a few for the outbox relay (its lease and its
    # records run in threads of their own).
    engine = make_engine(settings.db_url, connections=settings.worker_activity_threads + 4)
    if not await migrated(settings, stop):
        return
    client = await connect(settings)
    # Every worker does this at start: creating an existing schedule updates it instead.
    for line in await ensure_schedules(client, settings):
        log.info("schedule %s", line)
    with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
        worker = build_worker(client, settings, engine, executor=executor, **capacity(settings))
        if own_process:
            freeze_startup_heap()
        async with build_relay(settings, engine).running():
            if stop is None:
                await worker.run()
            else:
                async with worker:
                    await stop.wait()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_worker(load_settings(), own_process=True))


if __name__ == "__main__":
    main()
