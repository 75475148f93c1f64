"""Writes the SQL read model. Every write is idempotent and order-safe:

* cases and tasks carry a version counted by their workflow, and a row is only
  overwritten by a newer version, so a retried or late activity never moves a
  row backwards;
* events carry a key unique per workflow and sequence number, so a retried
  activity inserts nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel
from temporalio import activity

from db.tables import CaseRow, DeadlineRow, EventRow, TaskRow
from models.events import AuditEvent, CaseProjection, ProjectionBatch, TaskProjection

OPEN_TASK = ("dispatched", "accepted", "waiting_on_worker")


class StoreActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="project")
    def project(self, batch: ProjectionBatch) -> None:
        """Apply one batch of projections in a single transaction."""
        with Session(self._engine) as session:
            if batch.case is not None:
                _upsert_case(session, batch.case)
            if batch.task is not None:
                _upsert_task(session, batch.task)
            if batch.events:
                _insert_events(session, batch.events)
            session.commit()


def _upsert_case(session: Session, case: CaseProjection) -> None:
    row = session.get(CaseRow, case.case_id)
    if row is None:
        session.add(CaseRow(**case.model_dump()))
    elif row.version < case.version:
        for field, value in case.model_dump().items():
            setattr(row, field, value)


def _upsert_task(session: Session, task: TaskProjection) -> None:
    row = session.get(TaskRow, task.task_id)
    fields = task.model_dump(exclude={"deadlines"})
    if row is None:
        session.add(TaskRow(**fields))
    elif row.version < task.version:
        for field, value in fields.items():
            setattr(row, field, value)
    else:
        return  # an older projection arriving late must not touch the clocks either
    open_task = task.status in OPEN_TASK
    for d in task.deadlines:
        # Only a running clock of an open task has running_due_at: the overdue
        # query is then one range scan on its index.
        running_due = d.due_at if open_task and d.status == "running" else None
        clock = session.get(DeadlineRow, (task.task_id, d.clock))
        if clock is None:
            clock = DeadlineRow(
                task_id=task.task_id,
                clock=d.clock,
                case_id=task.case_id,
                label=d.label,
                period=d.period,
            )
            session.add(clock)
        clock.label, clock.period, clock.status, clock.mode = d.label, d.period, d.status, d.mode
        clock.due_at, clock.stopped_at, clock.started_at = d.due_at, d.stopped_at, d.started_at
        clock.running_since, clock.running_due_at = d.running_since, running_due
        clock.budget_seconds, clock.spent_seconds = d.budget_seconds, d.spent_seconds
        clock.breached = d.breached
        clock.detail = json.dumps(d.detail, ensure_ascii=False) if d.detail else None


def _insert_events(session: Session, events: Sequence[AuditEvent]) -> None:
    rows = [
        {
            "key": e.key,
            "case_id": e.case_id,
            "task_id": e.task_id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "detail": e.detail,
            "data": json.dumps(e.data, ensure_ascii=False, default=str) if e.data else None,
        }
        for e in events
    ]
    dialect = session.get_bind().dialect.name
    table = SQLModel.metadata.tables[EventRow.__tablename__]
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(rows).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(rows).on_conflict_do_nothing())
    else:
        raise RuntimeError(f"the read model supports SQLite and PostgreSQL, not {dialect}")
