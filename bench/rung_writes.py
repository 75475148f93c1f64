"""The parts after the engine, alone: how many rungs a second the read model and the
outbox relay take, with no Temporal in the way.

Run from the project root::

    .venv/bin/python bench/rung_writes.py [--rates 28,56,84] [--seconds 30] [--cases 400]

For each rate, a fresh SQLite read model (migrated, in a temporary directory) holds
``--cases`` cases of three tasks with five running clocks each, written as the worker
writes them. Then rung projections arrive at that rate for ``--seconds``, each what a
task's firing rung writes (``StoreActivities.project``: the task's row at a new
version with every clock, its "escalated" timeline row and the rung's mail for the
outbox, in one transaction), from as many threads as the worker has activity threads,
while the worker's outbox relay (``worker.build_relay``, default settings) sends the
mails to the embedded SMTP sink (``devstack.MailSink``, in a thread of this process).
It prints the projection's latency and how late each mail left after its rung was
written (outbox ``sent_at`` minus the time the rung was projected), and exits 1 with
one line if a mail is not delivered or is delivered twice.

What it leaves out, on purpose: the workflow task that fires the rung. ``clocks.py``
measures the whole path; the difference is what the engine costs.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select

import devstack
from activities.store import StoreActivities
from bench.report import cpu_model, load_average, med, pct, section, table
from db.engine import make_engine, migrate
from db.tables import OutboxRow
from models.events import (
    AuditEvent,
    CaseProjection,
    DeadlineProjection,
    ProjectionBatch,
    TaskProjection,
)
from models.notify import Notification, NotificationKind, Recipient
from settings import Settings
from worker import build_relay

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
CLOCKS = ("sign_for", "reply", "statutory", "callback", "service")
OFFICE = Recipient(address="hrss.tianhe@appeals.example", name="天河区人社局", role="office")
HEAD = Recipient(
    address="hrss.tianhe.head@appeals.example", name="天河区人社局负责同志", role="head"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def case(case_id: str) -> CaseProjection:
    return CaseProjection(
        case_id=case_id,
        version=1,
        status="dispatched",
        request_id=case_id,
        category="wage_arrears",
        occupation="rider",
        platform="meituan",
        channel="hotline",
        urgent=True,
        name="王小明",
        phone="13800138001",
        id_number=None,
        summary="配送站拖欠两个月工资共8400元。",
        residence="440111",
        workplace="440106",
        incident=None,
        opened_at=T0,
    )


def task(case_id: str, seq: int, version: int) -> TaskProjection:
    """A task's row at ``version``: past version 1, its reply clock has breached."""
    return TaskProjection(
        task_id=f"{case_id}-T{seq}",
        case_id=case_id,
        version=version,
        seq=seq,
        role="lead" if seq == 1 else "cohandler",
        status="dispatched",
        department="hrss",
        region="440106",
        office_id="hrss.tianhe",
        office_name="天河区人社局",
        category="wage_arrears",
        dispatched_at=T0,
        deadlines=[
            DeadlineProjection(
                clock=c,
                label=c,
                period="5wd",
                due_at=T0 + timedelta(days=7),
                started_at=T0,
                running_since=T0,
                budget_seconds=5 * 8 * 3600,
                spent_seconds=version * 60,
                breached=c == "reply" and version > 1,
            )
            for c in CLOCKS
        ],
    )


def rung(case_id: str, seq: int, version: int) -> ProjectionBatch:
    task_id = f"{case_id}-T{seq}"
    mail = Notification(
        id=f"{task_id}:reply:rung-{version}",
        kind=NotificationKind.breach,
        event="rung-1",
        case_id=case_id,
        task_id=task_id,
        clock="reply",
        to=[OFFICE, HEAD],
        urgent=True,
        context={
            "office_name": "天河区人社局",
            "category_label": "拖欠劳动报酬",
            "clock_label": "答复",
            "due_at": "2026-11-30 17:30",
            "rung": "1",
        },
        created_at=datetime.now(UTC),
    )
    escalated = AuditEvent(
        key=f"{task_id}#{version}",
        case_id=case_id,
        task_id=task_id,
        at=datetime.now(UTC),
        action="escalated",
        detail="答复 rung-1",
    )
    return ProjectionBatch(task=task(case_id, seq, version), events=[escalated], mails=[mail])


class Sink(devstack.MailSink):
    """The embedded stack's sink, counting the notification ids it is given."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        for line in content.split(b"\r\n"):
            if line.startswith(b"X-Appeals-Notification:"):
                with self.lock:
                    self.ids.append(line.split(b":", 1)[1].strip().decode())
                break
        return await super().handle_DATA(server, session, envelope)


async def one_rate(rate: float, seconds: float, cases: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="appeals-rungs-") as tmp:
        url = f"sqlite:///{tmp}/appeals.db"
        migrate(url)
        settings = Settings(data_dir=Path(tmp), database_url=url, smtp_port=free_port())
        threads = settings.worker_activity_threads
        engine = make_engine(url, connections=threads + 4)  # as the worker makes it
        store = StoreActivities(engine)
        ids = [f"AP-RW{i:05d}" for i in range(cases)]
        for case_id in ids:
            store.project(ProjectionBatch(case=case(case_id)))
            for seq in (1, 2, 3):
                store.project(ProjectionBatch(task=task(case_id, seq, 1)))
        sink = Sink(Path(tmp) / "mail")
        controller = Controller(sink, hostname="127.0.0.1", port=settings.sink_port)
        controller.start()
        latencies: list[float] = []
        written: dict[str, float] = {}

        def project(k: int) -> None:
            case_id, seq, version = ids[k % cases], 1 + (k // cases) % 3, 2 + k // (3 * cases)
            batch = rung(case_id, seq, version)
            started = time.perf_counter()
            store.project(batch)
            latencies.append(time.perf_counter() - started)
            written[batch.mails[0].id] = time.time()

        total = int(rate * seconds)
        loop = asyncio.get_running_loop()
        try:
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                async with build_relay(settings, engine).running():
                    begun = time.perf_counter()
                    pending = []
                    for k in range(total):
                        ahead = begun + k / rate - time.perf_counter()
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                        pending.append(loop.run_in_executor(pool, project, k))
                    await asyncio.gather(*pending)
                    fed = time.perf_counter() - begun
                    while len(sink.ids) < total and time.perf_counter() - begun < seconds + 300:
                        await asyncio.sleep(0.2)
        finally:
            controller.stop()
        with Session(engine) as session:
            sent = dict(
                session.execute(
                    select(col(OutboxRow.id), col(OutboxRow.sent_at)).where(
                        col(OutboxRow.status) == "sent"
                    )
                ).all()
            )
        engine.dispose()
    late = [sent[i].replace(tzinfo=UTC).timestamp() - written[i] for i in written if i in sent]
    ms = [x * 1000 for x in latencies]
    twice = len(sink.ids) - len(set(sink.ids))
    if len(sent) < total or len(set(sink.ids)) < total or twice:
        raise SystemExit(
            f"rung_writes.py: at {rate:g}/s, {total} rungs: {len(sent)} sent, "
            f"{len(set(sink.ids))} delivered, {twice} delivered twice"
        )
    return [
        f"{rate:g}",
        f"{total}",
        f"{total / fed:.1f}",
        f"{med(ms):.1f}",
        f"{pct(ms, 99):.1f}",
        f"{max(ms):.1f}",
        f"{med(late):.2f}",
        f"{pct(late, 99):.2f}",
        f"{max(late):.2f}",
    ]


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", default="28,56,84", help="rungs a second, comma-separated")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--cases", type=int, default=400)
    a = p.parse_args()
    rates = [float(r) for r in a.rates.split(",") if r.strip()]
    if not rates or min(rates) <= 0 or a.seconds <= 0 or a.cases < 1:
        raise SystemExit(
            "rung_writes.py: --rates must be positive numbers, --seconds and --cases > 0"
        )
    section("appeals benchmark: rung writes and the outbox relay, without the engine")
    print(f"machine: {cpu_model()}; load average {load_average()}")
    print(
        f"{a.seconds:g} s at each rate on {a.cases} cases × 3 tasks × 5 clocks; SQLite read model"
    )
    rows = [await one_rate(r, a.seconds, a.cases) for r in rates]
    print()
    print(
        table(
            [
                "rungs/s asked",
                "rungs",
                "rungs/s fed",
                "write p50 ms",
                "p99",
                "max",
                "mail late p50 s",
                "p99",
                "max",
            ],
            rows,
            right=range(9),
        )
    )
    print(f"\nevery mail delivered once; load average at the end {load_average()}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
