"""Read-model queries behind the supervisors' and handlers' lists (SQL, never workflow scans)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, true
from sqlalchemy.orm import aliased, load_only
from sqlalchemy.sql.elements import True_
from sqlmodel import Session, col

from db.tables import CaseRow, DeadlineRow, EventRow, OutboxRow, TaskRow

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
OPEN_TASK = ("dispatched", "accepted", "waiting_on_worker")
STREAM_BATCH = 500  # rows fetched (and held) at a time by a streamed list


@dataclass(frozen=True)
class OverdueRow:
    task: TaskRow
    deadline: DeadlineRow
    case: CaseRow


def overdue_tasks(
    *,
    session: Session,
    now: datetime,
    department: str | None = None,
    region: str | None = None,
    clock: str | None = None,
    category: str | None = None,
    due_from: datetime | None = None,
    limit: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[OverdueRow]:
    """Open tasks with a running clock due before ``now``, most overdue first.

    One row per task: its earliest-due running clock (only ``clock``, if given).
    With ``due_from``, the window is [due_from, now) instead: soon-due lists pass
    the present as ``due_from`` and the horizon as ``now``.
    """
    return list(
        iter_overdue_tasks(
            session=session,
            now=now,
            department=department,
            region=region,
            clock=clock,
            category=category,
            due_from=due_from,
            limit=limit,
            where=where,
        )
    )


def iter_overdue_tasks(
    *,
    session: Session,
    now: datetime,
    department: str | None = None,
    region: str | None = None,
    clock: str | None = None,
    category: str | None = None,
    due_from: datetime | None = None,
    limit: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> Iterator[OverdueRow]:
    """``overdue_tasks`` as a stream, in constant memory: rows come off the cursor in
    batches and nothing is kept to drop a task's second clock (SQL does that)."""
    window = col(DeadlineRow.running_due_at) < now
    if due_from is not None:
        window = window & (col(DeadlineRow.running_due_at) >= due_from)
    if clock:
        window = window & (col(DeadlineRow.clock) == clock)
    else:
        # One row per task: no running clock of the same task in the window comes first.
        # A task has two or three clocks, found by the primary key (task_id, clock).
        other = aliased(DeadlineRow)
        before = (col(other.running_due_at) < col(DeadlineRow.running_due_at)) | (
            (col(other.running_due_at) == col(DeadlineRow.running_due_at))
            & (col(other.clock) < col(DeadlineRow.clock))
        )
        in_window = col(other.running_due_at) < now
        if due_from is not None:
            in_window = in_window & (col(other.running_due_at) >= due_from)
        window = window & ~exists().where(
            col(other.task_id) == col(DeadlineRow.task_id), in_window, before
        )
    # No filter on tasks.status: running_due_at is set only for running clocks of open
    # tasks (the store clears it when a task ends).
    conds = [window, *_overdue_filters(department, region, category)]
    scoped = where is not None and not isinstance(where, True_)
    if where is not None and scoped:
        conds.append(where)  # the reader's scope (services.scope), on tasks
    # Walk the running clocks in due order straight off an index that leads with the
    # filters (ix_deadlines_*_due, 0014; ix_deadlines_running_due without one), so a
    # first page costs a page (a GROUP BY per task would scan the whole table).
    due_order = (col(DeadlineRow.running_due_at), col(DeadlineRow.task_id), col(DeadlineRow.clock))
    wide = select(TaskRow, DeadlineRow, CaseRow)
    if limit:
        # A page: choose its clocks on the narrow keys (read from the index alone), then
        # read the page's rows. One row per task already: SQL can stop at the page.
        page = select(*due_order)
        if scoped:
            page = page.join(TaskRow, col(TaskRow.task_id) == DeadlineRow.task_id)
        page_keys = page.where(*conds).order_by(*due_order).limit(limit).subquery("page")
        query = (
            wide.select_from(page_keys)
            .join(
                DeadlineRow,
                (col(DeadlineRow.task_id) == page_keys.c.task_id)
                & (col(DeadlineRow.clock) == page_keys.c.clock),
            )
            .join(TaskRow, col(TaskRow.task_id) == page_keys.c.task_id)
            .order_by(page_keys.c.running_due_at, page_keys.c.task_id, page_keys.c.clock)
        )
    else:
        # The whole list in one pass (a sorted subquery would not be merged into it).
        query = (
            wide.select_from(DeadlineRow)
            .join(TaskRow, col(TaskRow.task_id) == DeadlineRow.task_id)
            .where(*conds)
            .order_by(*due_order)
        )
    query = query.join(CaseRow, col(CaseRow.case_id) == TaskRow.case_id).options(*OVERDUE_LOAD)
    if limit is not None and limit <= STREAM_BATCH:
        # A page is one fetch: a server-side cursor would cost it three more round trips.
        for t, d, c in session.execute(query):
            yield OverdueRow(t, d, c)
        return
    # Stream the rows in batches (the ORM buffers a whole result otherwise).
    for t, d, c in session.execute(query.execution_options(yield_per=STREAM_BATCH)):
        yield OverdueRow(t, d, c)


# What a row of the overdue list shows (services.supervision._overdue_dict), and no
# more: a case row is mostly the worker's particulars, which the list never shows, and
# each column read is one more value converted (every timestamp) for each of a page's
# 150 objects. Another column, read on a loaded row, is fetched when first touched.
def _only(model: Any, *names: str) -> Any:
    return load_only(*(getattr(model, n) for n in names))


OVERDUE_LOAD = (
    _only(TaskRow, "task_id", "case_id", "department", "region", "office_name", "status"),
    _only(DeadlineRow, "task_id", "clock", "label", "due_at", "mode", "detail"),
    _only(CaseRow, "case_id", "category"),
)


def _overdue_filters(
    department: str | None, region: str | None, category: str | None
) -> list[ColumnElement[bool]]:
    """The filters, on the task's values the store copies onto its clocks: each
    combination is led by one of db.tables.OVERDUE_INDEXES (a region alone is rare
    and walks the due-time index)."""
    conds = []
    if department:
        conds.append(col(DeadlineRow.department) == department)
    if region:
        conds.append(col(DeadlineRow.region) == region)
    if category:
        conds.append(col(DeadlineRow.category) == category)
    return conds


def list_tasks(
    *,
    session: Session,
    department: str | None = None,
    region: str | None = None,
    status: str | Sequence[str] | None = None,
    limit: int = 200,
    where: ColumnElement[bool] | None = None,
    order: str = "newest",
) -> list[tuple[TaskRow, CaseRow]]:
    """Tasks with their cases: newest first, or ``order="due"`` (open tasks' nearest
    running deadline first, as a handler's inbox wants)."""
    stmt = select(TaskRow, CaseRow).join(CaseRow, col(CaseRow.case_id) == TaskRow.case_id)
    if where is not None:
        stmt = stmt.where(where)
    if department:
        stmt = stmt.where(col(TaskRow.department) == department)
    if region:
        stmt = stmt.where(col(TaskRow.region) == region)
    if isinstance(status, str):
        stmt = stmt.where(col(TaskRow.status) == status)
    elif status:
        stmt = stmt.where(col(TaskRow.status).in_(list(status)))
    if order == "due":
        nearest = (
            select(func.min(DeadlineRow.running_due_at))
            .where(col(DeadlineRow.task_id) == TaskRow.task_id)
            .scalar_subquery()
        )
        # Tasks without a running clock (paused, finished) come after the timed ones.
        stmt = stmt.order_by(nearest.is_(None), nearest, col(TaskRow.task_id))
    else:
        stmt = stmt.order_by(col(TaskRow.dispatched_at).desc(), col(TaskRow.task_id))
    stmt = stmt.limit(limit)
    return [(t, c) for t, c in session.execute(stmt).all()]


def get_case(*, session: Session, case_id: str) -> CaseRow | None:
    return session.get(CaseRow, case_id)


def case_tasks(*, session: Session, case_id: str) -> list[TaskRow]:
    stmt = select(TaskRow).where(col(TaskRow.case_id) == case_id).order_by(col(TaskRow.seq))
    return list(session.scalars(stmt).all())


def task_deadlines(*, session: Session, task_ids: list[str]) -> dict[str, list[DeadlineRow]]:
    stmt = select(DeadlineRow).where(col(DeadlineRow.task_id).in_(task_ids))
    out: dict[str, list[DeadlineRow]] = {t: [] for t in task_ids}
    for d in session.scalars(stmt).all():
        out[d.task_id].append(d)
    for rows in out.values():
        rows.sort(key=lambda d: d.due_at or FAR_FUTURE)  # paused clocks last
    return out


def case_events(*, session: Session, case_id: str) -> list[EventRow]:
    stmt = (
        select(EventRow)
        .where(col(EventRow.case_id) == case_id)
        .order_by(col(EventRow.at), col(EventRow.id))
    )
    return list(session.scalars(stmt).all())


def get_task(*, session: Session, task_id: str) -> TaskRow | None:
    return session.get(TaskRow, task_id)


def outbox_for_case(*, session: Session, case_id: str) -> list[OutboxRow]:
    """A case's e-mails in the order they were decided (the case's timeline order)."""
    stmt = (
        select(OutboxRow)
        .where(col(OutboxRow.case_id) == case_id)
        .order_by(col(OutboxRow.created_at), col(OutboxRow.id))
    )
    return list(session.scalars(stmt).all())


def outbox(
    *,
    session: Session,
    status: str | None = None,
    limit: int = 200,
    where: ColumnElement[bool] | None = None,
) -> list[OutboxRow]:
    """The newest e-mails first, optionally of one status (e.g. ``retrying``, ``failed``);
    ``where`` on tasks keeps the mail of the tasks in the reader's scope."""
    stmt = select(OutboxRow)
    if where is not None:
        stmt = stmt.where(col(OutboxRow.task_id).in_(select(col(TaskRow.task_id)).where(where)))
    if status:
        stmt = stmt.where(col(OutboxRow.status) == status)
    stmt = stmt.order_by(col(OutboxRow.created_at).desc(), col(OutboxRow.id)).limit(limit)
    return list(session.scalars(stmt).all())


@dataclass(frozen=True)
class ReturnsRow:
    department: str
    region: str
    office_name: str
    returns: int
    designated_to: int
    last_at: datetime | None


def returns_by_office(
    *,
    session: Session,
    since: datetime | None = None,
    department: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[ReturnsRow]:
    """Returns (退单) made by each office and designations it received, most returns first."""
    returned = (
        select(
            col(TaskRow.department),
            col(TaskRow.region),
            col(TaskRow.office_name),
            func.count().label("n"),
            func.max(EventRow.at).label("last"),
        )
        .join(EventRow, col(EventRow.task_id) == TaskRow.task_id)
        .where(col(EventRow.action) == "returned")
        .group_by(col(TaskRow.department), col(TaskRow.region), col(TaskRow.office_name))
    )
    # A designated task is dispatched with designated=true in its event data; count
    # the tasks whose case was designated to that office.
    designated = (
        select(
            col(TaskRow.department),
            col(TaskRow.region),
            col(TaskRow.office_name),
            func.count().label("n"),
            func.max(EventRow.at).label("last"),
        )
        .join(EventRow, col(EventRow.task_id) == TaskRow.task_id)
        .where(
            col(EventRow.action) == "dispatched", col(EventRow.data).like('%"designated": true%')
        )
        .group_by(col(TaskRow.department), col(TaskRow.region), col(TaskRow.office_name))
    )
    if since is not None:
        returned = returned.where(col(EventRow.at) >= since)
        designated = designated.where(col(EventRow.at) >= since)
    if department:
        returned = returned.where(col(TaskRow.department) == department)
        designated = designated.where(col(TaskRow.department) == department)
    if where is not None:
        returned = returned.where(where)
        designated = designated.where(where)
    rows: dict[tuple[str, str], list[Any]] = {}
    for dept, region, name, n, last in session.execute(returned).all():
        rows[(dept, region)] = [dept, region, name, n, 0, last]
    for dept, region, name, n, last in session.execute(designated).all():
        row = rows.setdefault((dept, region), [dept, region, name, 0, 0, last])
        row[4] = n
        row[5] = max(filter(None, (row[5], last)), default=None)
    out = [ReturnsRow(*r) for r in rows.values()]
    out.sort(key=lambda r: (-r.returns, -r.designated_to, r.department, r.region))
    return out


def cases_in_review(
    *, session: Session, where: ColumnElement[bool] | None = None, limit: int = 200
) -> list[CaseRow]:
    """Cases waiting for a supervisor to designate the owner (派单异议审核), oldest first."""
    in_scope = select(col(TaskRow.case_id)).where(where if where is not None else true())
    stmt = (
        select(CaseRow)
        .where(col(CaseRow.status) == "in_review", col(CaseRow.case_id).in_(in_scope))
        .order_by(
            col(CaseRow.review_due).is_(None), col(CaseRow.review_due), col(CaseRow.opened_at)
        )
        .limit(limit)
    )
    return list(session.scalars(stmt).all())


def cases_awaiting_callback(
    *, session: Session, where: ColumnElement[bool] | None = None, limit: int = 500
) -> list[CaseRow]:
    """Cases waiting for the callback (回访), the soonest due first (no clock last)."""
    in_scope = select(col(TaskRow.case_id)).where(where if where is not None else true())
    stmt = (
        select(CaseRow)
        .where(col(CaseRow.status) == "awaiting_callback", col(CaseRow.case_id).in_(in_scope))
        .order_by(
            col(CaseRow.callback_due).is_(None), col(CaseRow.callback_due), col(CaseRow.opened_at)
        )
        .limit(limit)
    )
    return list(session.scalars(stmt).all())


def pending_extensions(
    *, session: Session, where: ColumnElement[bool] | None = None, limit: int = 200
) -> list[tuple[TaskRow, DeadlineRow]]:
    """Clocks with an extension request waiting for a decision, soonest due first."""
    stmt = (
        select(TaskRow, DeadlineRow)
        .join(DeadlineRow, col(DeadlineRow.task_id) == TaskRow.task_id)
        .where(
            col(TaskRow.status).in_(OPEN_TASK),
            col(DeadlineRow.detail).like('%"status": "pending"%'),
        )
        .order_by(col(DeadlineRow.due_at), col(TaskRow.task_id))
        .limit(limit)
    )
    if where is not None:
        stmt = stmt.where(where)
    return [(t, d) for t, d in session.execute(stmt).all()]
