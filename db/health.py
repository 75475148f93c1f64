"""What the read model says about the system's health: how far its projections are
behind, the e-mail outbox's backlog, and the schema's migration revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from db.engine import alembic_config
from db.tables import OutboxRow, ProjectionLagRow

BACKLOG = ("queued", "retrying")


@dataclass(frozen=True)
class Lag:
    workflows: int  # workflows whose latest projection is not in the read model
    oldest: timedelta | None  # age of the oldest change still missing
    attempts: int  # failed attempts of the most tried one
    last_error: str | None


@dataclass(frozen=True)
class Backlog:
    queued: int
    retrying: int
    failed: int
    oldest: timedelta | None  # age of the oldest notification not sent yet


@dataclass(frozen=True)
class Revision:
    current: str | None
    head: str | None


def projection_lag(*, session: Session, now: datetime) -> Lag:
    count, since, attempts = session.execute(
        select(
            func.count(),
            func.min(ProjectionLagRow.since),
            func.max(ProjectionLagRow.attempts),
        )
    ).one()
    error = session.execute(
        select(col(ProjectionLagRow.last_error))
        .order_by(col(ProjectionLagRow.updated_at).desc())
        .limit(1)
    ).scalar()
    return Lag(
        workflows=int(count),
        oldest=now - _aware(since) if since is not None else None,
        attempts=int(attempts or 0),
        last_error=error,
    )


def outbox_backlog(*, session: Session, now: datetime) -> Backlog:
    rows = session.execute(
        select(col(OutboxRow.status), func.count()).group_by(col(OutboxRow.status))
    ).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    oldest = session.execute(
        select(func.min(OutboxRow.created_at)).where(col(OutboxRow.status).in_(BACKLOG))
    ).scalar()
    return Backlog(
        queued=int(counts.get("queued", 0)),
        retrying=int(counts.get("retrying", 0)),
        failed=int(counts.get("failed", 0)),
        oldest=now - _aware(oldest) if oldest is not None else None,
    )


def revision(*, engine: Engine, url: str) -> Revision:
    """The schema's revision and the newest one this code knows."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return Revision(current=current, head=head)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
