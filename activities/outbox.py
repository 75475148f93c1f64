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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from activities.mail import aware
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
    values = {
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
    table = SQLModel.metadata.tables[OutboxRow.__tablename__]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
    else:
        raise RuntimeError(f"the read model supports SQLite and PostgreSQL, not {dialect}")
    row = session.get(OutboxRow, n.id)
    assert row is not None
    return row


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
        status = delivery(row)
        for address in accepted:
            status[address] = {"status": SENT, "at": now.isoformat()}
        for address, reply in refused.items():
            status[address] = {"status": "refused", "reply": clip(reply), "at": now.isoformat()}
        row.delivery = json.dumps(status, ensure_ascii=False, sort_keys=True)
        row.attempts = count(row, attempt)
        row.message_id = message_id
        if refused:
            row.status = RETRYING
            row.last_error = clip(refused_text(refused))
            session.commit()
            return None
        row.status, row.sent_at, row.last_error = SENT, now, None
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
                QUEUED: "it is queued: its workflow is still sending it",
                RETRYING: "its workflow is still retrying it",
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
