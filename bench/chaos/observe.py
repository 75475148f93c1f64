"""What the harness reads at the end, from every side: the workflows (Temporal's
describe, the cases' ``state`` query, the task workflows Temporal lists), the read
model's rows, the SMTP sink's deliveries and `appeals reconcile --json`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db.tables import CaseRow, DeadlineRow, EventRow, OutboxRow, ProjectionLagRow, TaskRow
from models.case import CaseState

CONCURRENCY = 16


@dataclass(frozen=True)
class ClockEvent:
    """One warning or rung of one clock, as ``deadlines.detail`` holds it."""

    task: str
    clock: str
    key: str  # warning-50, rung-1, …
    kind: str  # warning or breach
    plan: str | None
    at: datetime
    fired_at: datetime | None
    stopped_at: datetime | None  # the clock's, if it stopped

    @property
    def notification(self) -> str:
        return f"{self.task}:{self.clock}:{self.key}"


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def clock_events(rows: Iterable[DeadlineRow]) -> list[ClockEvent]:
    out = []
    for d in rows:
        detail = json.loads(d.detail or "{}")
        for e in detail.get("events", []):
            at = _ts(e.get("at"))
            if e.get("kind") in ("warning", "breach") and at is not None:
                out.append(
                    ClockEvent(
                        d.task_id,
                        d.clock,
                        str(e["key"]),
                        str(e["kind"]),
                        detail.get("plan"),
                        at,
                        _ts(e.get("fired_at")),
                        _ts(d.stopped_at),
                    )
                )
    return out


@dataclass
class Rows:
    """The read model's rows of the run (its whole database is the harness's own)."""

    cases: list[CaseRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    deadlines: list[DeadlineRow] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    lag: int = 0  # workflows whose projection is behind

    @classmethod
    def read(cls, engine: Engine) -> Rows:
        with Session(engine) as s:
            return cls(
                cases=list(s.exec(select(CaseRow)).all()),
                tasks=list(s.exec(select(TaskRow)).all()),
                events=list(s.exec(select(EventRow)).all()),
                deadlines=list(s.exec(select(DeadlineRow)).all()),
                outbox=list(s.exec(select(OutboxRow)).all()),
                lag=len(s.exec(select(ProjectionLagRow)).all()),
            )


@dataclass
class Truth:
    """What Temporal holds: which cases exist, each case's state, every task workflow."""

    missing: list[str] = field(default_factory=list)  # no workflow for this case id
    states: dict[str, CaseState] = field(default_factory=dict)
    task_workflows: list[str] = field(default_factory=list)  # may repeat, if started twice
    errors: list[str] = field(default_factory=list)


async def read_truth(client: Client, case_ids: Iterable[str]) -> Truth:
    truth = Truth()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(case_id: str) -> None:
        async with gate:
            handle = client.get_workflow_handle(case_id)
            try:
                truth.states[case_id] = await handle.query("state", result_type=CaseState)
            except RPCError as e:
                if e.status is RPCStatusCode.NOT_FOUND:
                    truth.missing.append(case_id)
                else:
                    truth.errors.append(f"{case_id}: {e.message}")

    await asyncio.gather(*(one(c) for c in sorted(set(case_ids))))
    query = 'WorkflowType="DepartmentTaskWorkflow"'
    truth.task_workflows = [w.id async for w in client.list_workflows(query)]
    return truth


@dataclass(frozen=True)
class Reconciled:
    exit: int
    drift: list[dict[str, Any]]
    error: str  # stderr, when it did not answer in JSON


def reconcile(env: Mapping[str, str], cwd: Path) -> Reconciled:
    """`appeals reconcile --json`, as an administrator runs it."""
    appeals = Path(sys.executable).parent / "appeals"
    done = subprocess.run(
        [str(appeals), "reconcile", "--json"],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        drift = list(json.loads(done.stdout)["drift"])
    except (ValueError, KeyError, TypeError):
        return Reconciled(done.returncode, [], " ".join(done.stderr.split())[:500])
    return Reconciled(done.returncode, drift, " ".join(done.stderr.split())[:500])
