"""The outbox rows of the notify activities: one per notification, written so that a
retried activity neither adds a row nor moves a ``sent`` row backwards. Blocking
(SQL); the async activities run these in a thread.

Each row keeps the notification itself (to resend it later) and a status per
recipient (``delivery``, JSON): ``{"a@x": {"status": "sent", "at": …},
"b@x": {"status": "refused", "reply": "550 5.1.1 …", "at": …}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from activities.mail import NotificationError, aware, render_subject
from db.tables import OutboxRow
from models.notify import Notification, SendResult

# Outbox statuses (see db.tables.OutboxRow).
QUEUED, RETRYING, SENT, FAILED = "queued", "retrying", "sent", "failed"
MAX_ERROR = 500


class ResendError(ValueError):
    """A notification that cannot be resent; the message is one line saying why."""


class UnknownMail(ResendError):
    """No outbox row has that id."""


def insert_if_absent(session: Session, n: Notification, subject: str) -> OutboxRow:
    """Insert the queued row unless one exists, then return the row. ON CONFLICT DO
    NOTHING rather than get-then-add: two attempts racing must not fail on the key."""
    _insert_ignore(session, row_values(n, subject))
    row = session.get(OutboxRow, n.id)
    assert row is not None
    return row


def row_values(n: Notification, subject: str) -> dict[str, Any]:
    return {
        "id": n.id,
        "case_id": n.case_id,
        "task_id": n.task_id,
        "clock": n.clock,
        "event": n.event,
        "kind": n.kind.value,
        "recipients": ",".join(r.address for r in n.to),
        "subject": subject,
        "status": QUEUED,
        "attempts": 0,
        "created_at": aware(n.created_at),
        "notification": n.model_dump_json(),
    }


def _insert_ignore(session: Session, values: dict[str, Any]) -> None:
    table = SQLModel.metadata.tables[OutboxRow.__tablename__]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
    else:
        raise RuntimeError(f"the read model supports SQLite and PostgreSQL, not {dialect}")


def queue_for_relay(session: Session, n: Notification, now: datetime) -> str | None:
    """Queue ``n`` for the outbox relay, due ``now``, in the caller's transaction; a
    row with its id (queued before, by a retried write) is left alone. A notification
    whose subject cannot be rendered is queued ``failed`` with the reason, which is
    returned: it must not fail the write that carries it (the task's state), and no
    retry can render it."""
    try:
        subject, failure = render_subject(n), None
    except NotificationError as exc:
        subject, failure = "", one_line(exc)
    values = row_values(n, subject)
    if failure is None:
        values["next_attempt_at"] = now
    else:
        values.update(status=FAILED, last_error=failure)
    _insert_ignore(session, values)
    return failure


def delivery(row: OutboxRow) -> dict[str, dict[str, Any]]:
    return dict(json.loads(row.delivery)) if row.delivery else {}


def sent_result(engine: Engine, notification_id: str) -> SendResult | None:
    with Session(engine) as session:
        row = session.get(OutboxRow, notification_id)
        if row is None or row.status != SENT:
            return None
        assert row.message_id is not None and row.sent_at is not None
        return SendResult(notification_id=row.id, message_id=row.message_id, sent_at=row.sent_at)


def claim(engine: Engine, n: Notification, *, subject: str, attempt: int) -> list[str]:
    """Before anyone is mailed, a write: the attempt counted on the row (made if it is
    missing); then the addresses that have not accepted this mail yet (all at first).

    A read model that cannot take a write (locked, down) fails the attempt here, before
    the mail leaves. Found by the fault harness: read-only, this step let the mail go
    while SQLite was locked, the write of its delivery then failed, and the retry mailed
    everyone again."""
    with Session(engine) as session:
        row = insert_if_absent(session, n, subject)
        done = delivery(row)
        if attempt > 0:
            row.attempts = attempt
        session.commit()
    return [r.address for r in n.to if done.get(r.address, {}).get("status") != SENT]


def record(
    engine: Engine,
    n: Notification,
    status: str,
    reason: str,
    *,
    attempt: int | None,
    subject: str = "",
) -> None:
    """Record a failure; ``attempt`` None means no send was attempted (queueing)."""
    with Session(engine) as session:
        row = insert_if_absent(session, n, subject)
        if row.status == SENT:
            return  # a concurrent attempt won; never move a sent row backwards
        row.status = status
        if attempt is not None:
            row.attempts = count(row, attempt)
        row.last_error = reason
        session.commit()


def record_delivery(
    engine: Engine,
    n: Notification,
    *,
    subject: str,
    attempt: int,
    accepted: list[str],
    refused: Mapping[str, str],
    message_id: str,
) -> datetime | None:
    """Record what the server accepted and refused; ``sent`` (returning when) once
    every recipient has accepted the mail, else ``retrying`` naming the refused."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = insert_if_absent(session, n, subject)
        if row.status == SENT:
            return row.sent_at
        _deliveries(row, Outcome(n.id, accepted, dict(refused), message_id=message_id), now)
        row.attempts = count(row, attempt)
        if refused:
            row.status = RETRYING
            row.last_error = clip(refused_text(refused))
            session.commit()
            return None
        row.status, row.sent_at, row.last_error = SENT, now, None
        row.next_attempt_at = None
        session.commit()
        return now


def mark_failed(engine: Engine, notification_id: str, reason: str) -> OutboxRow | None:
    """``queued``/``retrying`` → ``failed``; the row if this call failed it, else None
    (no row, already failed, or sent after all: the truth is then "sent")."""
    with Session(engine) as session:
        row = session.get(OutboxRow, notification_id)
        if row is None or row.status in (SENT, FAILED):
            return None
        row.status = FAILED
        row.last_error = clip(" ".join(reason.split()))
        row.next_attempt_at = None
        session.commit()
        session.refresh(row)
        session.expunge(row)
        return row


def for_resend(engine: Engine, notification_id: str) -> Notification:
    """The notification of a ``failed`` row, to send again by hand."""
    with Session(engine) as session:
        row = session.get(OutboxRow, notification_id)
        if row is None:
            raise UnknownMail(f"no e-mail {notification_id!r} in the outbox (`appeals mail`)")
        if row.status != FAILED:
            why = {
                SENT: "it was sent",
                QUEUED: "it is queued: it is still being sent",
                RETRYING: "it is still being retried",
            }.get(row.status, f"it is {row.status}")
            raise ResendError(f"e-mail {notification_id} is not failed: {why}")
        if not row.notification:
            raise ResendError(
                f"e-mail {notification_id} was queued before the outbox kept messages; "
                "it cannot be resent from here"
            )
        return Notification.model_validate_json(row.notification)


def refused_text(refused: Mapping[str, str]) -> str:
    return "SMTP refused " + ", ".join(f"{a} ({reply})" for a, reply in sorted(refused.items()))


def count(row: OutboxRow, attempt: int) -> int:
    return attempt if attempt > 0 else row.attempts + 1


def one_line(exc: BaseException) -> str:
    """``SMTPConnectError: Error connecting to 127.0.0.1 on port 2525: …`` on one line."""
    text = " ".join(str(exc).split()) or repr(exc)
    return clip(f"{type(exc).__name__}: {text}")


def clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


# ---- the outbox relay's rows (activities/relay.py) ------------------------------------

RETRY_FIRST, RETRY_MAX = 5.0, 600.0  # seconds: as NotificationWorkflow's SMTP_RETRY
GIVE_UP_AFTER = timedelta(days=3)  # from queueing, as NotificationWorkflow's SMTP_GIVE_UP


@dataclass(frozen=True)
class Leased:
    """A row the relay holds until its lease ends: the mail and who still needs it."""

    notification: Notification
    pending: list[str]
    created_at: datetime


@dataclass
class Outcome:
    """What one attempt came to. ``message_id`` set: the server took the message, for
    ``accepted`` and not for ``refused``; ``error``: nothing was delivered (``final``:
    it cannot be rendered, and no retry mends that)."""

    id: str
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    error: str | None = None
    final: bool = False


def lease_due(engine: Engine, *, now: datetime, limit: int, lease: timedelta) -> list[Leased]:
    """Up to ``limit`` rows due by ``now``, oldest first, each leased until ``now +
    lease`` with the attempt counted, in one transaction. The UPDATE takes a row only if
    it is still due: another relay that leased it first moved it out of reach (on
    PostgreSQL the second UPDATE waits for the first and then matches nothing), so no
    row is sent by two relays at once; a relay that dies leaves its rows to come due
    again when the lease ends."""
    due = col(OutboxRow.next_attempt_at)
    out: list[Leased] = []
    with Session(engine) as session:
        rows = session.execute(
            select(
                col(OutboxRow.id),
                col(OutboxRow.notification),
                col(OutboxRow.delivery),
                col(OutboxRow.created_at),
            )
            .where(due <= now)
            .order_by(due)
            .limit(limit)
        ).all()
        for row_id, notification, done, created_at in rows:
            taken = session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row_id, due <= now)
                .values(next_attempt_at=now + lease, attempts=col(OutboxRow.attempts) + 1)
            )
            if taken.rowcount != 1 or not notification:  # type: ignore[attr-defined]
                continue
            n = Notification.model_validate_json(notification)
            sent = json.loads(done) if done else {}
            pending = [r.address for r in n.to if sent.get(r.address, {}).get("status") != SENT]
            out.append(Leased(n, pending, aware(created_at)))
        session.commit()
    return out


def settle(engine: Engine, outcomes: list[Outcome], *, now: datetime) -> dict[str, str]:
    """Record ``outcomes`` in one transaction; the rows given up on (still
    not delivered ``GIVE_UP_AFTER`` after queueing) and why, for the caller to fail
    and alert on (``mark_failed``). Those keep their lease: a relay that dies before
    failing them tries them once more and gives up again. A row a hand resend sent or
    failed meanwhile is left as it is."""
    given_up: dict[str, str] = {}
    with Session(engine) as session:
        for o in outcomes:
            row = session.get(OutboxRow, o.id)
            if row is None or row.status in (SENT, FAILED):
                continue
            if o.message_id is not None:
                _deliveries(row, o, now)
            if o.error is None and not o.refused:
                row.status, row.sent_at, row.last_error = SENT, now, None
                row.next_attempt_at = None
                continue
            reason = clip(o.error or refused_text(o.refused))
            row.last_error = reason
            if o.final:
                row.status, row.next_attempt_at = FAILED, None
            elif now - aware(row.created_at) >= GIVE_UP_AFTER:
                given_up[row.id] = reason
            else:
                row.status = RETRYING
                row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
        session.commit()
    return given_up


def _deliveries(row: OutboxRow, o: Outcome, now: datetime) -> None:
    status = delivery(row)
    for address in o.accepted:
        status[address] = {"status": SENT, "at": now.isoformat()}
    for address, reply in o.refused.items():
        status[address] = {"status": "refused", "reply": clip(reply), "at": now.isoformat()}
    row.delivery = json.dumps(status, ensure_ascii=False, sort_keys=True)
    row.message_id = o.message_id


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 5, 10, 20 … 600."""
    return min(RETRY_FIRST * 2.0 ** max(attempts - 1, 0), RETRY_MAX)
