"""`appeals reconcile`: the read model against the workflows, which are the truth.

For every case and task workflow that is open (in Temporal, or according to the read
model), the workflow's ``projection`` query says what its rows should hold; each
difference is one ``Drift``. A row whose workflow does not exist is drift too. The
repair writes the workflow's projection over the rows through the store's own upserts
(``activities.store.reproject``, idempotent) and deletes rows no workflow holds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.store import OPEN_TASK, forget, purged, reproject
from db.tables import CaseRow, DeadlineRow, TaskRow
from models.events import DeadlineProjection, ProjectionBatch

OPEN_CASE = ("open", "in_review", "awaiting_callback")
PERSONAL = {"name", "phone", "id_number", "summary"}  # never printed, only named
RUNNING = (
    'ExecutionStatus="Running" AND TaskQueue="{tq}"'
    ' AND WorkflowType IN ("GrievanceWorkflow","DepartmentTaskWorkflow")'
)
CONCURRENCY = 16


@dataclass
class Drift:
    workflow_id: str
    table: str  # cases, tasks, deadlines
    field: str  # a column, or "row" when the whole row is missing or has no workflow
    row: Any
    workflow: Any

    def line(self) -> str:
        if self.field == "row":
            return f"{self.workflow_id} {self.table}: {self.row} (workflow: {self.workflow})"
        if self.field in PERSONAL:
            return f"{self.workflow_id} {self.table}.{self.field}: differs (personal data)"
        return (
            f"{self.workflow_id} {self.table}.{self.field}: row {self.row!r}, "
            f"workflow {self.workflow!r}"
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.field in PERSONAL:
            d["row"] = d["workflow"] = "(personal data)"
        return {k: _plain(v) for k, v in d.items()}


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.astimezone(UTC) == b.astimezone(UTC)
    return bool(a == b)


def _differences(
    wid: str, table: str, row: Any, want: dict[str, Any], *, prefix: str = ""
) -> list[Drift]:
    return [
        Drift(wid, table, prefix + k, getattr(row, k), v)
        for k, v in want.items()
        if not _same(getattr(row, k), v)
    ]


def _deadline_values(d: DeadlineProjection, open_task: bool) -> dict[str, Any]:
    values = d.model_dump(exclude={"clock", "detail"})
    # The detail is stored as JSON text, so compare it as JSON.
    values["detail"] = (
        json.loads(json.dumps(d.detail, ensure_ascii=False, default=str)) if d.detail else None
    )
    values["running_due_at"] = d.due_at if open_task and d.status == "running" else None
    return values


def compare(engine: Engine, wid: str, batch: ProjectionBatch | None) -> list[Drift]:
    """What the rows of ``wid`` hold that ``batch`` (its workflow's projection; None:
    there is no such workflow) does not."""
    with Session(engine) as session:
        case_row = session.get(CaseRow, wid)
        task_row = session.get(TaskRow, wid)
        if purged(session, task_row.case_id if task_row else wid):
            # Blank on purpose (appeals purge): the workflow, until Temporal drops its
            # closed history, still holds what the read model no longer may.
            return []
        if batch is None:
            return [
                Drift(wid, table, "row", "present", "does not exist")
                for table, row in (("cases", case_row), ("tasks", task_row))
                if row is not None
            ]
        if batch.case is not None:
            if case_row is None:
                return [Drift(wid, "cases", "row", "missing", batch.case.status)]
            return _differences(wid, "cases", case_row, batch.case.model_dump())
        if batch.task is None:
            return []
        t = batch.task
        if task_row is None:
            return [Drift(wid, "tasks", "row", "missing", t.status)]
        drift = _differences(wid, "tasks", task_row, t.model_dump(exclude={"deadlines"}))
        rows = session.execute(select(DeadlineRow).where(col(DeadlineRow.task_id) == wid))
        clocks = {r.clock: r for r in rows.scalars()}
        for d in t.deadlines:
            row = clocks.pop(d.clock, None)
            if row is None:
                drift.append(Drift(wid, "deadlines", "row", f"{d.clock} missing", d.status))
                continue
            values = _deadline_values(d, t.status in OPEN_TASK)
            # The task's filters copied onto its clocks (the overdue page's indexes).
            values.update(department=t.department, region=t.region, category=t.category)
            row_detail = json.loads(row.detail) if row.detail else None
            if row_detail != values.pop("detail"):
                drift.append(Drift(wid, "deadlines", f"{d.clock}.detail", "…", "…"))
            drift += _differences(wid, "deadlines", row, values, prefix=f"{d.clock}.")
        drift += [Drift(wid, "deadlines", "row", f"{c} present", "no such clock") for c in clocks]
        return drift


async def projection_of(client: Client, wid: str) -> ProjectionBatch | None:
    """The workflow's projection, or None when no such workflow exists."""
    try:
        batch: ProjectionBatch = await client.get_workflow_handle(wid).query(
            "projection", result_type=ProjectionBatch
        )
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return batch


def _open_rows(engine: Engine) -> set[str]:
    with Session(engine) as session:
        cases = session.execute(
            select(col(CaseRow.case_id)).where(col(CaseRow.status).in_(OPEN_CASE))
        )
        tasks = session.execute(
            select(col(TaskRow.task_id)).where(col(TaskRow.status).in_(OPEN_TASK))
        )
        return set(cases.scalars()) | set(tasks.scalars())


async def _running(client: Client, task_queue: str) -> set[str]:
    return {w.id async for w in client.list_workflows(RUNNING.format(tq=task_queue))}


async def reconcile(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    repair: bool = False,
    ids: Iterable[str] | None = None,
) -> list[Drift]:
    """The drift between the read model and the workflows (open ones on the deployment's
    ``task_queue``, or ``ids``); with
    ``repair``, each drifting workflow's rows are re-projected and checked again, and
    what remains is returned."""
    wanted = (
        set(ids) if ids is not None else _open_rows(engine) | await _running(client, task_queue)
    )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(wid: str) -> list[Drift]:
        async with gate:
            batch = await projection_of(client, wid)
            drift = await asyncio.to_thread(compare, engine, wid, batch)
            if not drift or not repair:
                return drift
            if batch is None:
                await asyncio.to_thread(forget, engine, wid)
            else:
                await asyncio.to_thread(reproject, engine, batch)
            return await asyncio.to_thread(compare, engine, wid, await projection_of(client, wid))

    found = await asyncio.gather(*(one(w) for w in sorted(wanted)))
    return [d for ds in found for d in ds]
