"""`appeals health`: is every part of the system up, and is the read model keeping up?

Each check answers in one line with a status: ``ok``, ``warn`` (working, but a person
should look) or ``down``. A check never raises: what it cannot reach is its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest
from temporalio.client import Client

from client import connect
from codec import CodecKeyError
from db import health as db_health
from db.engine import make_engine
from settings import Settings
from sla import WorkCalendar, load_overrides
from sla.calendar import fallback_notice, years_without_schedule

TIMEOUT = 5.0  # seconds any one check may take
LAG_DOWN = timedelta(minutes=5)  # a projection missing longer than this is an outage
OUTBOX_WARN = timedelta(minutes=30)  # mail waiting longer than this needs a look
POLLER_FRESH = timedelta(minutes=2)  # a poller seen later than this is gone


@dataclass
class Check:
    name: str
    status: str  # ok, warn or down
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def down(self) -> bool:
        return self.status == "down"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _age(d: timedelta | None) -> str:
    if d is None:
        return "-"
    s = int(d.total_seconds())
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


async def temporal(s: Settings) -> tuple[Check, Client | None]:
    try:
        c = await asyncio.wait_for(connect(s), TIMEOUT)
        await asyncio.wait_for(
            c.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=s.temporal_namespace)
            ),
            TIMEOUT,
        )
    except CodecKeyError as e:  # a key problem is not an outage of the server
        return Check("temporal", "down", str(e)), None
    except Exception as e:  # noqa: BLE001 - unreachable is the answer
        return Check("temporal", "down", f"{s.address} unreachable ({_why(e)})"), None
    detail = f"{s.address} reachable, namespace {s.temporal_namespace}"
    return Check("temporal", "ok", detail, {"address": s.address}), c


async def worker(s: Settings, c: Client | None, now: datetime) -> Check:
    if c is None:
        return Check("worker", "down", "unknown: Temporal is unreachable")
    polling: dict[str, int] = {}
    try:
        for kind, label in (
            (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow"),
            (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity"),
        ):
            r = await c.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=s.temporal_namespace,
                    task_queue=TaskQueue(name=s.task_queue),
                    task_queue_type=kind,
                ),
                timeout=timedelta(seconds=TIMEOUT),
            )
            fresh = [
                p
                for p in r.pollers
                if now - p.last_access_time.ToDatetime(tzinfo=UTC) <= POLLER_FRESH
            ]
            polling[label] = len({p.identity for p in fresh})
    except Exception as e:  # noqa: BLE001
        return Check("worker", "down", f"cannot describe task queue {s.task_queue} ({_why(e)})")
    ok = all(polling.values())
    detail = (
        f"{polling['workflow']} workflow and {polling['activity']} activity poller(s) "
        f"on task queue {s.task_queue}"
    )
    return Check(
        "worker", "ok" if ok else "down", detail if ok else f"no worker: {detail}", polling
    )


def database(s: Settings, engine: Engine) -> Check:
    where = make_url(s.db_url).render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        rev = db_health.revision(engine=engine, url=s.db_url)
    except Exception as e:  # noqa: BLE001
        return Check("database", "down", f"{where} unreachable ({_why(e)})")
    data = {"url": where, "revision": rev.current, "head": rev.head}
    if rev.current != rev.head:
        at = rev.current or "none"
        detail = f"{where} at revision {at}, code wants {rev.head}: run `appeals serve`"
        return Check("database", "down", detail, data)
    return Check("database", "ok", f"{where} reachable, migration head {rev.head}", data)


async def smtp(s: Settings) -> Check:
    host, port = s.smtp_host, s.sink_port
    client = aiosmtplib.SMTP(
        hostname=host, port=port, use_tls=s.smtp_tls, start_tls=False, timeout=TIMEOUT
    )
    try:
        await client.connect()
        code, message = await client.ehlo()
        await client.quit()
    except Exception as e:  # noqa: BLE001
        return Check("smtp", "down", f"{host}:{port} unreachable ({_why(e)})")
    status = "ok" if 200 <= code < 300 else "down"
    first = message.splitlines()[0] if message else ""
    return Check("smtp", status, f"{host}:{port} answered EHLO {code} {first}".strip())


def read_model(engine: Engine, now: datetime) -> list[Check]:
    """Projection lag and the outbox's backlog (both unknown when the database is down)."""
    try:
        with Session(engine) as session:
            lag = db_health.projection_lag(session=session, now=now)
            mail = db_health.outbox_backlog(session=session, now=now)
    except Exception as e:  # noqa: BLE001
        why = f"unknown: the database did not answer ({_why(e)})"
        return [Check("projection lag", "down", why), Check("outbox", "down", why)]
    if lag.workflows == 0:
        projection = Check("projection lag", "ok", "none: the read model is up to date")
    else:
        late = lag.oldest is not None and lag.oldest > LAG_DOWN
        projection = Check(
            "projection lag",
            "down" if late else "warn",
            f"{lag.workflows} workflow(s) behind, oldest change {_age(lag.oldest)} ago, "
            f"{lag.attempts} failed attempt(s); last error: {lag.last_error}",
        )
    projection.data = asdict(lag) | {"oldest_seconds": _secs(lag.oldest)}
    projection.data.pop("oldest")
    waiting = mail.queued + mail.retrying
    slow = mail.oldest is not None and mail.oldest > OUTBOX_WARN
    outbox = Check(
        "outbox",
        "warn" if slow or mail.failed else "ok",
        f"{mail.queued} queued, {mail.retrying} retrying, {mail.failed} failed"
        + (f"; oldest waiting {_age(mail.oldest)}" if waiting else ""),
        {
            "queued": mail.queued,
            "retrying": mail.retrying,
            "failed": mail.failed,
            "oldest_seconds": _secs(mail.oldest),
        },
    )
    return [projection, outbox]


def calendar(s: Settings, now: datetime) -> Check:
    """This year and next (deadlines run into it): are their official schedules known?"""
    try:
        cal = WorkCalendar(load_overrides(s.rules_dir / "calendar.yaml"))
    except Exception as e:  # noqa: BLE001
        # A running worker keeps its last good calendar; a worker started now would not start.
        return Check(
            "calendar",
            "down",
            f"calendar.yaml is invalid, workers keep their last good calendar ({_why(e)});"
            " mend it and run `appeals rules check`",
        )
    year = now.astimezone(s.tz).year
    missing = years_without_schedule(cal, [year, year + 1])
    if not missing:
        return Check("calendar", "ok", f"official schedules known for {year} and {year + 1}")
    return Check(
        "calendar", "warn", " ".join(fallback_notice(y) for y in missing), {"years": missing}
    )


async def check_all(s: Settings, *, now: Callable[[], datetime] | None = None) -> list[Check]:
    clock = now or (lambda: datetime.now(UTC))
    t, c = await temporal(s)
    engine = make_engine(s.db_url)
    try:
        checks = [t, await worker(s, c, clock())]
        checks.append(await _off_loop(lambda: database(s, engine)))
        checks.append(await smtp(s))
        checks += await _off_loop(lambda: read_model(engine, clock()))
        checks.append(calendar(s, clock()))
    finally:
        engine.dispose()
    return checks


async def _off_loop(fn: Callable[[], Any]) -> Any:
    task: Awaitable[Any] = asyncio.to_thread(fn)
    return await asyncio.wait_for(task, TIMEOUT * 2)


def _secs(d: timedelta | None) -> int | None:
    return None if d is None else int(d.total_seconds())


def _why(e: BaseException) -> str:
    message = " ".join(str(getattr(e, "orig", None) or e).split())
    return f"{type(e).__name__}: {message}"[:200] if message else type(e).__name__
