"""Retention (`appeals purge`): a case closed longer ago than ``APPEALS_RETENTION_DAYS``
loses its worker's personal data from every row of the read model that holds it; the
case, its tasks, clocks, audit trail and figures stay, so every report counts as
before. A case closed longer ago than ``APPEALS_REPEAT_WINDOW_DAYS`` loses its
repeat-matching hashes sooner: they exist only to recognise a call within that window
(services/repeats.py never matches a case closed before it), so keeping them longer
would only keep the worker searchable.

Where the data is, for one case (each column scrubbed by ``activities.scrub``):

==================  =====================================================================
cases               name, phone, id_number (blanked), phone_hash, id_hash (cleared);
                    summary, reply, callback_remark, routing_explanation (scrubbed)
tasks               reply
deadlines           detail (JSON: pause questions and answers, extension reasons)
events              detail, data (JSON: notes, reasons, remarks, a repeat's summary)
outbox              subject, notification (JSON: the mail's text), delivery, last_error
projection_lag      last_error
clusters            reply (a coordinated reply given to every member)
==================  =====================================================================

task_figures, cluster_members, accounts and tokens hold no worker data.

One transaction: either every case of a run is purged and its audit row written, or
nothing is. Idempotent: a purged case is never selected again, and a second run finds
nothing (and says so in its own audit row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col
from temporalio import activity

from activities.scrub import Scrubber
from db.tables import (
    CaseRow,
    ClusterMemberRow,
    ClusterRow,
    DeadlineRow,
    EventRow,
    OutboxRow,
    ProjectionLagRow,
    PurgeRow,
    TaskRow,
)
from models.purge import PurgeRequest, PurgeResult

TERMINAL = ("closed", "withdrawn")
# The columns scrubbed per table: (plain text, JSON text).
TEXT_COLUMNS: dict[type[Any], tuple[tuple[str, ...], tuple[str, ...]]] = {
    TaskRow: (("reply",), ()),
    DeadlineRow: ((), ("detail",)),
    EventRow: (("detail",), ("data",)),
    OutboxRow: (("subject", "last_error"), ("notification", "delivery")),
    ProjectionLagRow: (("last_error",), ()),
}


@dataclass
class Plan:
    """What a run would do (``--dry-run`` shows it; the run does it)."""

    cutoff: datetime
    hash_cutoff: datetime
    case_ids: list[str] = field(default_factory=list)
    hash_case_ids: list[str] = field(default_factory=list)


def cutoffs(now: datetime, *, retention_days: int, repeat_window_days: int) -> Plan:
    return Plan(
        cutoff=now - timedelta(days=retention_days),
        hash_cutoff=now - timedelta(days=repeat_window_days),
    )


def _due(session: Session, plan: Plan, *, lock: bool) -> Plan:
    closed_before = (col(CaseRow.status).in_(TERMINAL), col(CaseRow.closed_at).is_not(None))
    purge = select(col(CaseRow.case_id)).where(
        *closed_before,
        col(CaseRow.closed_at) < plan.cutoff,
        col(CaseRow.purged_at).is_(None),
    )
    hashes = select(col(CaseRow.case_id)).where(
        *closed_before,
        col(CaseRow.closed_at) < plan.hash_cutoff,
        col(CaseRow.closed_at) >= plan.cutoff,  # the older ones are purged whole
        col(CaseRow.purged_at).is_(None),
        (col(CaseRow.phone_hash).is_not(None)) | (col(CaseRow.id_hash).is_not(None)),
    )
    if lock:
        # PostgreSQL: a second run at the same moment (the schedule and an
        # administrator) waits here, then finds these rows purged and skips them.
        purge, hashes = purge.with_for_update(), hashes.with_for_update()
    plan.case_ids = sorted(session.execute(purge.order_by(col(CaseRow.case_id))).scalars())
    plan.hash_case_ids = sorted(session.execute(hashes.order_by(col(CaseRow.case_id))).scalars())
    return plan


def _scrub_rows(session: Session, table: type[Any], case_id: str, s: Scrubber) -> None:
    plain, as_json = TEXT_COLUMNS[table]
    for row in session.execute(select(table).where(table.case_id == case_id)).scalars():
        for name in plain:
            setattr(row, name, s.text(getattr(row, name)))
        for name in as_json:
            setattr(row, name, s.json_text(getattr(row, name)))


def _purge_case(session: Session, case: CaseRow, now: datetime, actor: str) -> None:
    s = Scrubber.of(name=case.name, phone=case.phone, id_number=case.id_number)
    for table in TEXT_COLUMNS:
        _scrub_rows(session, table, case.case_id, s)
    clusters = select(col(ClusterMemberRow.cluster_id)).where(
        col(ClusterMemberRow.case_id) == case.case_id
    )
    for cluster in session.execute(
        select(ClusterRow).where(col(ClusterRow.id).in_(clusters))
    ).scalars():
        cluster.reply = s.text(cluster.reply)
    case.name, case.phone, case.id_number = "", "", None
    case.phone_hash = case.id_hash = None
    case.summary = s.text(case.summary) or ""
    case.reply = s.text(case.reply)
    case.callback_remark = s.text(case.callback_remark)
    case.routing_explanation = s.text(case.routing_explanation)
    case.purged_at = now
    session.add(
        EventRow(
            key=f"purge:{case.case_id}",
            case_id=case.case_id,
            at=now,
            actor=actor,
            action="purged",
            detail="个人信息已按保存期限清除",
            data=json.dumps({"closed_at": case.closed_at.isoformat() if case.closed_at else None}),
        )
    )


def purge(
    engine: Engine,
    *,
    now: datetime,
    retention_days: int,
    repeat_window_days: int,
    actor: str,
    dry_run: bool = False,
) -> PurgeResult:
    """Purge what is due at ``now`` (see the module's docstring); with ``dry_run``, only
    say what would be purged."""
    plan = cutoffs(now, retention_days=retention_days, repeat_window_days=repeat_window_days)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite and not dry_run:
            # Space SQLite frees in its pages is zeroed rather than left holding the
            # old text. A setting of this connection: undone before the pool has it.
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
            conn.commit()  # so that the session below begins, and commits, its own
        try:
            with Session(bind=conn) as session:
                _due(session, plan, lock=not sqlite and not dry_run)
                if not dry_run:
                    _apply(session, plan, now=now, actor=actor)
                    session.commit()
        finally:
            if sqlite and not dry_run:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA secure_delete = OFF")
                # Move the purge from the write-ahead log into the database file and
                # empty the log, so the old text is not left in appeals.db-wal. Best
                # effort: a reader holding an old snapshot keeps part of the log until
                # the next checkpoint.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeResult(
        at=now,
        actor=actor,
        dry_run=dry_run,
        cutoff=plan.cutoff,
        hash_cutoff=plan.hash_cutoff,
        case_ids=plan.case_ids,
        hash_case_ids=plan.hash_case_ids,
    )


def _apply(session: Session, plan: Plan, *, now: datetime, actor: str) -> None:
    for case_id in plan.case_ids:
        case = session.get(CaseRow, case_id)
        assert case is not None
        _purge_case(session, case, now, actor)
    if plan.hash_case_ids:
        session.execute(
            update(CaseRow)
            .where(col(CaseRow.case_id).in_(plan.hash_case_ids))
            .values(phone_hash=None, id_hash=None)
        )
    session.add(
        PurgeRow(
            at=now,
            actor=actor,
            cutoff=plan.cutoff,
            hash_cutoff=plan.hash_cutoff,
            cases=len(plan.case_ids),
            case_ids=json.dumps(plan.case_ids),
            hashes_cleared=len(plan.hash_case_ids),
            hash_case_ids=json.dumps(plan.hash_case_ids),
        )
    )


class PurgeActivities:
    """The daily purge of the ``appeals-purge`` schedule (workflows/purge.py)."""

    def __init__(self, engine: Engine, *, retention_days: int, repeat_window_days: int) -> None:
        self._engine = engine
        self._retention_days = retention_days
        self._repeat_window_days = repeat_window_days

    @activity.defn(name="purge", no_thread_cancel_exception=True)
    def run(self, req: PurgeRequest) -> PurgeResult:
        result = purge(
            self._engine,
            now=req.at,
            retention_days=self._retention_days,
            repeat_window_days=self._repeat_window_days,
            actor=req.actor,
            dry_run=req.dry_run,
        )
        # Counts only: the case ids are in the audit row, names nowhere.
        activity.logger.info(
            "purge: %d cases purged, %d cases' repeat hashes cleared",
            len(result.case_ids),
            len(result.hash_case_ids),
        )
        return result
