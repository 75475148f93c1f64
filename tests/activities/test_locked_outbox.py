"""A read model that cannot be written must not make a mail go twice (found by the fault
harness: mails sent while SQLite was locked, their delivery unrecorded, mailed again on
the retry). The send writes to the outbox before anyone is mailed, and a delivery the
server accepted is recorded patiently."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.smtp import Refused, SmtpSender
from bench.chaos.parts import WriteLock
from tests.smtp import SmtpServer

from .helpers import MAIL_FROM, sample
from .test_notify import attempt, row


@pytest.fixture
def impatient(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """The same read model as db/engine.py opens it (WAL: readers go on under a writer's
    lock) but with a busy timeout of 1 s instead of 30, to keep the test short."""
    eng = create_engine(
        f"sqlite:///{tmp_path / 'appeals.db'}", connect_args={"check_same_thread": False}
    )

    @event.listens_for(eng, "connect")
    def _pragmas(conn: object, _record: object) -> None:
        conn.execute("PRAGMA journal_mode=WAL")  # type: ignore[attr-defined]
        conn.execute("PRAGMA busy_timeout=1000")  # type: ignore[attr-defined]

    yield eng
    eng.dispose()


async def test_a_locked_outbox_fails_the_send_before_anyone_is_mailed(
    impatient: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    acts = NotifyActivities(impatient, SmtpSender(smtp_server.host, smtp_server.port), MAIL_FROM)
    n = sample("breach-1")
    ActivityEnvironment().run(acts.queue, n)
    lock = WriteLock(tmp_path / "appeals.db")
    lock.acquire()
    try:
        with pytest.raises(OperationalError, match="locked"):
            await attempt(1).run(acts.send, n)
        assert smtp_server.inbox.envelopes == []
    finally:
        lock.release()
    await attempt(2).run(acts.send, n)
    await attempt(3).run(acts.send, n)  # a retry after all: the row says sent
    assert len(smtp_server.inbox.envelopes) == 1
    assert (row(impatient, n.id).status, row(impatient, n.id).attempts) == ("sent", 2)


class LockingSender(SmtpSender):
    """Delivers, then the database is locked for ``hold`` seconds before the outbox
    can record the delivery (as when an outage begins while a mail is on the wire)."""

    def __init__(self, server: SmtpServer, lock: WriteLock, hold: float) -> None:
        super().__init__(server.host, server.port)
        self.lock, self.hold = lock, hold

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> Refused:
        refused = await super().send(message, recipients)
        self.lock.acquire()
        threading.Timer(self.hold, self.lock.release).start()
        return refused


async def test_a_delivery_is_recorded_after_a_short_outage_and_not_mailed_again(
    impatient: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    sender = LockingSender(smtp_server, WriteLock(tmp_path / "appeals.db"), hold=2.5)
    acts = NotifyActivities(impatient, sender, MAIL_FROM)
    n = sample("warning")
    ActivityEnvironment().run(acts.queue, n)
    result = await attempt(1).run(acts.send, n)
    assert row(impatient, n.id).status == "sent"
    assert row(impatient, n.id).message_id == result.message_id
    await attempt(2).run(acts.send, n)
    assert len(smtp_server.inbox.envelopes) == 1
