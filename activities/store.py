"""Writes the SQL read model. Every write is idempotent and order-safe:

* cases and tasks carry a version counted by their workflow, and a row is only
  overwritten by the same or a newer version, so a retried or late activity never
  moves a row backwards;
* events carry a key unique per workflow and sequence number, so a retried
  activity inserts nothing twice;
* the same version (or event key) written again is written over: a workflow task
  whose worker died after its local projection was written, before the task
  completed, is run again and projects the same versions with its own
  ``workflow.now()`` (opened at, dispatched at, deadlines, the events' times), and
  that run is the one in the history. Its write comes after the dead one's. (A
  write of the first run that lands later still — a worker alive but too slow for
  its task's timeout — is corrected by the workflow's next projection, or by
  ``appeals reconcile --repair``.)
* a failed write leaves a note in ``projection_lag`` (how far behind, why), which
  the next successful write of that workflow removes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session, SQLModel, col
from temporalio import activity

from activities import outbox
from activities.facts import FigureMath, refresh_case
from db.engine import brief_lock_wait
from db.tables import CaseRow, DeadlineRow, EventRow, ProjectionLagRow, TaskFigureRow, TaskRow
from db.upsert import upsert_rows
from models.events import AuditEvent, CaseProjection, ProjectionBatch, TaskProjection
from sla.calendar import WorkCalendar

log = logging.getLogger(__name__)
OPEN_TASK = ("dispatched", "accepted", "waiting_on_worker")


class StoreActivities:
    def __init__(self, engine: Engine, figures: FigureMath | None = None) -> None:
        self._engine = engine
        # The calendar the figures' working hours are measured on (activities/facts.py).
        self._figures = figures or _default_figures()

    @activity.defn(name="project", no_thread_cancel_exception=True)
    def project(self, batch: ProjectionBatch) -> None:
        """Apply one batch of projections in a single transaction.

        A failure is noted in ``projection_lag`` (in a transaction of its own, so the
        read model says it is behind while it cannot take the write) and raised for
        the caller to retry; a success clears the workflow's note.
        """
        workflow_id = _workflow_id(batch)
        try:
            with Session(self._engine) as session:
                _upsert_all(session, batch)
                _queue_mails(session, batch)
                case_id = _case_id(batch)
                if case_id is not None:
                    refresh_case(session, case_id, self._figures)
                if workflow_id is not None:
                    session.execute(delete(ProjectionLagRow).where(key_of(workflow_id)))
                session.commit()
        except Exception as e:
            if workflow_id is not None:
                note_lag(self._engine, batch, workflow_id, e)
            raise


def write_answer(engine: Engine, batch: ProjectionBatch, clocks_since: int | None) -> bool:
    """Write an action's own projection, from its Update's answer (the API, for
    read-your-writes; patches.ANSWER_CARRIES_PROJECTION), through the same upserts as
    ``project``; whether the read model shows the action now.

    The answer's task holds only the clocks changed since version ``clocks_since`` (None:
    every clock), so it is written only over that version: over an older one (the
    worker's write of the version between has not landed) the clocks left out would be
    older than the row says, and the caller waits for the worker instead. A row already
    at the answer's version or newer is left as it is (it shows the action); the
    action's events are written either way, keyed, so never twice. The worker writes the
    same rows and events again, or wrote them first: no order moves a row backwards.

    It waits at most ``BRIEF_LOCK_WAIT_MS`` for a lock (the worker's write of the same
    rows, say), then fails and the caller waits for that write. Not here: the case's
    figures and the projection-lag note, which the worker's own write takes care of
    (the answer holds the action's events only, not whatever else the workflow has
    queued). Nothing of a purged case is written."""
    with Session(engine) as session:
        if purged(session, _case_id(batch)):
            return False
        with brief_lock_wait(session):
            task = batch.task
            if task is not None:
                held = session.execute(
                    select(col(TaskRow.version))
                    .where(col(TaskRow.task_id) == task.task_id)
                    .with_for_update()
                ).scalar_one_or_none()
                if held is not None and held >= task.version:
                    task = None
                elif clocks_since is not None and held != clocks_since:
                    return False
            _upsert_all(session, batch.model_copy(update={"task": task}))
            session.flush()
        session.commit()
    return True


def _upsert_all(session: Session, batch: ProjectionBatch) -> None:
    if batch.case is not None:
        _upsert_case(session, batch.case)
    if batch.task is not None:
        _upsert_task(session, batch.task)
    if batch.events:
        _insert_events(session, batch.events)


def _queue_mails(session: Session, batch: ProjectionBatch) -> None:
    """The batch's e-mails, queued for the outbox relay with the state that decided
    them: the rung's mail and its "escalated" row land together or not at all."""
    now = datetime.now(UTC)
    for n in batch.mails:
        failure = outbox.queue_for_relay(session, n, now)
        if failure is not None:  # ids only: the reason may quote the context
            log.error("notification %s cannot be rendered; queued as failed", n.id)


def _workflow_id(batch: ProjectionBatch) -> str | None:
    if batch.task is not None:
        return batch.task.task_id
    return batch.case.case_id if batch.case is not None else None


def _default_figures() -> FigureMath:
    return FigureMath(WorkCalendar(), ZoneInfo("Asia/Shanghai"))


def _case_id(batch: ProjectionBatch) -> str | None:
    if batch.case is not None:
        return batch.case.case_id
    if batch.task is not None:
        return batch.task.case_id
    return batch.events[0].case_id if batch.events else None


def key_of(workflow_id: str) -> Any:
    return ProjectionLagRow.workflow_id == workflow_id


def note_lag(engine: Engine, batch: ProjectionBatch, workflow_id: str, error: Exception) -> None:
    """Record that ``workflow_id``'s projection failed, keeping the oldest change's time.

    Best effort: when the database cannot take even this, the health check finds the
    database itself unreachable.
    """
    now = datetime.now(UTC)
    oldest = min((e.at for e in batch.events), default=now)
    message = " ".join(str(getattr(error, "orig", None) or error).split())[:500]
    try:
        with Session(engine) as session:
            if landed(session, batch):
                # Another attempt of this batch (or a newer projection) wrote it while
                # this one waited: a timed-out attempt that fails after its retry
                # succeeded must not leave a note that nothing would ever clear.
                return
            row = session.get(ProjectionLagRow, workflow_id)
            if row is None:
                case_id = batch.task.case_id if batch.task else workflow_id
                row = ProjectionLagRow(
                    workflow_id=workflow_id, case_id=case_id, since=oldest, updated_at=now
                )
                session.add(row)
            row.since = min(row.since, oldest)
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {message}"
            row.updated_at = now
            session.commit()
    except Exception as e:  # noqa: BLE001 - the projection's own error is what matters
        activity.logger.warning("cannot note the projection lag of %s: %s", workflow_id, e)


def landed(session: Session, batch: ProjectionBatch) -> bool:
    """Whether the read model already holds every change of ``batch``: its case and
    task at its versions or newer, and each of its events.

    The rows are read ``FOR UPDATE`` (PostgreSQL; SQLite holds one writer at a time):
    a success committing meanwhile is then either seen here or deletes the note after.
    """
    if batch.case is not None:
        c = batch.case
        v = session.execute(
            select(col(CaseRow.version)).where(col(CaseRow.case_id) == c.case_id).with_for_update()
        ).scalar_one_or_none()
        if v is None or v < c.version:
            return False
    if batch.task is not None:
        t = batch.task
        v = session.execute(
            select(col(TaskRow.version)).where(col(TaskRow.task_id) == t.task_id).with_for_update()
        ).scalar_one_or_none()
        if v is None or v < t.version:
            return False
    if batch.events:
        keys = {e.key for e in batch.events}
        found = session.execute(select(col(EventRow.key)).where(col(EventRow.key).in_(keys)))
        if set(found.scalars()) != keys:
            return False
    return True


def not_older(
    session: Session,
    table: Any,
    key: Any,
    version: int,
    values: dict[str, Any],
    *,
    guard: Any = None,
) -> bool:
    """Write ``values`` if the row is absent or holds ``version`` or an older one; say
    if it wrote.

    The version test is in the UPDATE itself, not read first: two projections of the
    same workflow in flight at once (a firing clock and a handler) then cannot let
    the older one land last. PostgreSQL re-checks the WHERE after a concurrent
    writer commits; SQLite holds its write lock from the UPDATE to the commit. A
    concurrent first INSERT fails on the primary key and the activity is retried.
    """
    where = [key, table.version <= version, *([guard] if guard is not None else [])]
    updated = session.execute(update(table).where(*where).values(**values))
    if updated.rowcount:  # type: ignore[attr-defined]
        return True
    if session.execute(select(table).where(key)).first() is not None:
        return False  # a newer version is already there (or the case was purged)
    session.add(table(**values))
    session.flush()
    return True


def _upsert_case(session: Session, case: CaseProjection) -> None:
    # A purged case (activities/purge.py) keeps its blanks: whatever projection of it
    # still arrives must not bring the worker's data back.
    not_older(
        session,
        CaseRow,
        CaseRow.case_id == case.case_id,
        case.version,
        case.model_dump(),
        guard=col(CaseRow.purged_at).is_(None),
    )


def _upsert_task(session: Session, task: TaskProjection) -> None:
    fields = task.model_dump(exclude={"deadlines"})
    if not not_older(session, TaskRow, TaskRow.task_id == task.task_id, task.version, fields):
        return  # an older projection arriving late must not touch the clocks either
    open_task = task.status in OPEN_TASK
    # The task's clocks in one query, not one a clock: a rung writes all of them.
    held = {
        c.clock: c
        for c in session.scalars(
            select(DeadlineRow).where(col(DeadlineRow.task_id) == task.task_id)
        )
    }
    for d in task.deadlines:
        # Only a running clock of an open task has running_due_at: the overdue
        # query is then one range scan on its index.
        running_due = d.due_at if open_task and d.status == "running" else None
        clock = held.get(d.clock)
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
        clock.department, clock.region = task.department, task.region
        clock.category = task.category
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
    # A key written again: a retry (the same values), or the rerun of a workflow task
    # whose worker died (its own times, which the history keeps): written over.
    upsert_rows(session, SQLModel.metadata.tables[EventRow.__tablename__], rows, key=["key"])


def reproject(engine: Engine, batch: ProjectionBatch, figures: FigureMath | None = None) -> bool:
    """Write ``batch`` over what the read model holds for its workflow, through the
    same upserts as ``project`` (``appeals reconcile --repair``): rows someone edited or
    deleted come back as the workflow's state says. A row already holding a newer
    version is left alone (the workflow moved on meanwhile), and so are the rows of a
    purged case: its workflow still holds the data the purge took out. Says whether
    it wrote."""
    with Session(engine) as session:
        if purged(session, _case_id(batch)):
            return False
        if batch.case is not None:
            c = batch.case
            row = session.get(CaseRow, c.case_id)
            if row is not None and row.version > c.version:
                return False
            session.execute(delete(CaseRow).where(CaseRow.case_id == c.case_id))  # type: ignore[arg-type]
            _upsert_case(session, c)
        if batch.task is not None:
            t = batch.task
            task_row = session.get(TaskRow, t.task_id)
            if task_row is not None and task_row.version > t.version:
                return False
            session.execute(delete(TaskRow).where(TaskRow.task_id == t.task_id))  # type: ignore[arg-type]
            session.execute(delete(DeadlineRow).where(DeadlineRow.task_id == t.task_id))  # type: ignore[arg-type]
            _upsert_task(session, t)
        case_id = _case_id(batch)
        if case_id is not None:  # the figures follow the repaired rows
            refresh_case(session, case_id, figures or _default_figures())
        session.commit()
    return True


def purged(session: Session, case_id: str | None) -> bool:
    """Whether the case's personal data was purged (activities/purge.py)."""
    if case_id is None:
        return False
    at = session.execute(select(col(CaseRow.purged_at)).where(col(CaseRow.case_id) == case_id))
    return at.scalar_one_or_none() is not None


def forget(engine: Engine, workflow_id: str) -> None:
    """Delete the case or task rows (and a task's clocks) of a workflow that does not
    exist: the read model must not show what no workflow holds. Events stay: they are
    the audit trail of what was once shown."""
    with Session(engine) as session:
        session.execute(delete(CaseRow).where(CaseRow.case_id == workflow_id))  # type: ignore[arg-type]
        session.execute(delete(TaskRow).where(TaskRow.task_id == workflow_id))  # type: ignore[arg-type]
        session.execute(delete(DeadlineRow).where(DeadlineRow.task_id == workflow_id))  # type: ignore[arg-type]
        session.execute(delete(TaskFigureRow).where(TaskFigureRow.task_id == workflow_id))  # type: ignore[arg-type]
        session.commit()
