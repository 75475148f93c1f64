"""The outbox relay (activities/relay.py) against a real SMTP server (aiosmtpd) and the
read model on SQLite and PostgreSQL: mails queued by a task's projection leave once each,
even with two relays (two worker processes) on the same rows; a server that is away, a
refused recipient, a relay that died holding rows and a mail that cannot be rendered."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from activities import outbox
from activities.store import StoreActivities
from db.tables import OutboxRow
from models.events import ProjectionBatch
from models.notify import Notification
from settings import Settings
from tests.activities.helpers import sample
from tests.conftest import eventually
from tests.smtp import SmtpServer
from worker import build_relay

ADMIN = "ops@appeals.example"


def relay_settings(settings: Settings, engine: Engine) -> Settings:
    return settings.model_copy(update={"database_url": str(engine.url), "admin_mail": ADMIN})


def rungs(k: int) -> list[Notification]:
    # Made now, as a projection queues them: the relay gives a mail up three days after
    # it was made, so the samples' fixed instant would be given up from that day on.
    made = datetime.now(UTC)
    return [
        sample("breach-2", id=f"AP-RELAY{i:04d}-T1:reply:rung-2", created_at=made) for i in range(k)
    ]


def queue(engine: Engine, mails: list[Notification]) -> None:
    """As a task's projection queues them (StoreActivities.project, one transaction)."""
    StoreActivities(engine).project(ProjectionBatch(mails=mails))


def rows(engine: Engine) -> dict[str, OutboxRow]:
    with Session(engine) as session:
        return {r.id: r for r in session.exec(select(OutboxRow)).all()}


def message_ids(smtp: SmtpServer) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in smtp.inbox.messages())


async def test_two_relays_send_each_queued_mail_once(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    mails = rungs(60)
    queue(read_model, mails)
    queue(read_model, mails[:10])  # a retried write queues nothing twice
    s = relay_settings(settings, read_model).model_copy(update={"mail_batch": 7})
    one, two = build_relay(s, read_model), build_relay(s, read_model)

    async def all_sent() -> bool:
        return all(r.status == "sent" for r in rows(read_model).values())

    async with one.running(), two.running():
        await eventually(all_sent)
    sent = rows(read_model)
    assert len(sent) == 60
    assert {r.attempts for r in sent.values()} == {1}
    assert all(r.next_attempt_at is None and r.message_id for r in sent.values())
    counts = message_ids(smtp)
    assert len(counts) == 60 and set(counts.values()) == {1}  # each once, none twice
    assert set(counts) == {r.message_id for r in sent.values()}


async def test_a_pass_sends_its_mails_over_one_connection_a_lane(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    mails = rungs(24)
    queue(read_model, mails)
    s = relay_settings(settings, read_model).model_copy(update={"mail_concurrency": 3})
    assert await build_relay(s, read_model).drain_once() == 24
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(read_model).values())
    counts = message_ids(smtp)
    assert len(counts) == 24 and set(counts.values()) == {1}
    # Three lanes, eight mails each in a row: three connections, not 24.
    assert len(set(smtp.inbox.peers)) == 3


async def test_a_server_away_backs_off_then_delivers_once(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    [n] = rungs(1)
    queue(read_model, [n])
    relay = build_relay(relay_settings(settings, read_model), read_model)
    t0 = rows(read_model)[n.id].next_attempt_at
    assert t0 is not None
    smtp.stop()
    assert await relay.drain_once(t0) == 1
    row = rows(read_model)[n.id]
    assert row.status == "retrying" and row.attempts == 1
    assert row.last_error and "SMTPConnect" in row.last_error
    assert row.next_attempt_at == t0 + timedelta(seconds=5)  # the first backoff
    smtp.start()
    assert await relay.drain_once(t0 + timedelta(seconds=4)) == 0  # not due yet
    assert smtp.inbox.envelopes == []
    assert await relay.drain_once(t0 + timedelta(seconds=6)) == 1
    row = rows(read_model)[n.id]
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        "sent",
        2,
        None,
        None,
    )
    assert await relay.drain_once(t0 + timedelta(hours=1)) == 0  # sent is final
    assert len(smtp.inbox.envelopes) == 1


async def test_a_refused_recipient_is_retried_alone(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    n = sample("breach-2", id="AP-REFUSE0001-T1:reply:rung-2", created_at=datetime.now(UTC))
    assert len(n.to) > 1
    refused = n.to[-1].address
    queue(read_model, [n])
    relay = build_relay(relay_settings(settings, read_model), read_model)
    t0 = rows(read_model)[n.id].next_attempt_at
    assert t0 is not None
    smtp.inbox.refuse = {refused}
    await relay.drain_once(t0)
    row = rows(read_model)[n.id]
    assert row.status == "retrying" and refused in (row.last_error or "")
    assert json.loads(row.delivery or "{}")[refused]["status"] == "refused"
    smtp.inbox.refuse = set()
    await relay.drain_once(t0 + timedelta(seconds=6))
    assert rows(read_model)[n.id].status == "sent"
    assert [e.rcpt_tos for e in smtp.inbox.envelopes] == [
        [r.address for r in n.to if r.address != refused],
        [refused],  # only the one that did not have it
    ]


async def test_rows_of_a_relay_that_died_come_back_when_its_lease_ends(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    mails = rungs(3)
    queue(read_model, mails)
    t0 = max(r.next_attempt_at for r in rows(read_model).values() if r.next_attempt_at)
    # A relay leases them and dies before sending (kill -9 in the middle of a pass).
    dead = outbox.lease_due(read_model, now=t0, limit=10, lease=timedelta(seconds=60))
    assert len(dead) == 3
    relay = build_relay(relay_settings(settings, read_model), read_model)
    assert await relay.drain_once(t0 + timedelta(seconds=59)) == 0  # still leased
    assert await relay.drain_once(t0 + timedelta(seconds=61)) == 3
    assert {r.status for r in rows(read_model).values()} == {"sent"}
    assert {r.attempts for r in rows(read_model).values()} == {2}  # the dead one counted
    assert sorted(message_ids(smtp).values()) == [1, 1, 1]


async def test_still_undelivered_after_three_days_is_failed_and_the_admin_told(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    [n] = rungs(1)
    queue(read_model, [n])
    relay = build_relay(relay_settings(settings, read_model), read_model)
    smtp.inbox.refuse = {r.address for r in n.to}  # every office's mailbox refuses it
    created = rows(read_model)[n.id].created_at
    late = rows(read_model)[n.id].next_attempt_at
    assert late is not None
    await relay.drain_once(late)
    assert rows(read_model)[n.id].status == "retrying"
    await relay.drain_once(created + timedelta(days=3, minutes=1))
    row = rows(read_model)[n.id]
    assert row.status == "failed" and row.next_attempt_at is None
    assert "550" in (row.last_error or "")
    [alert] = [m for m in smtp.inbox.messages() if m["To"] == ADMIN]
    assert f"appeals mail resend {n.id}" in alert.get_content()
    assert await relay.drain_once(created + timedelta(days=4)) == 0


async def test_an_unrenderable_mail_is_failed_when_queued_and_never_sent(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    bad = sample("breach-2", id="AP-BADCTX0001-T1:reply:rung-2", context={})
    good = sample("breach-2", id="AP-GOODCTX001-T1:reply:rung-2", created_at=datetime.now(UTC))
    queue(read_model, [bad, good])  # the bad one does not fail the write of the other
    got = rows(read_model)
    assert got[bad.id].status == "failed" and got[bad.id].next_attempt_at is None
    assert got[bad.id].last_error
    relay = build_relay(relay_settings(settings, read_model), read_model)
    due = got[good.id].next_attempt_at
    assert due is not None
    assert await relay.drain_once(due) == 1
    assert [str(m["Message-ID"]) for m in smtp.inbox.messages()] == [
        rows(read_model)[good.id].message_id
    ]


async def test_a_mail_workflows_row_is_not_the_relays(
    read_model: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    """A NotificationWorkflow (a case's mail, or a task's from before the patch) sends its
    own row; the relay sending it too would mail it twice."""
    n = sample("breach-2", id="AP-WORKFLOW01-T1:reply:rung-2")
    with Session(read_model) as session:
        outbox.insert_if_absent(session, n, "subject")
        session.commit()
    relay = build_relay(relay_settings(settings, read_model), read_model)
    assert await relay.drain_once(datetime.now(n.created_at.tzinfo) + timedelta(days=1)) == 0
    assert rows(read_model)[n.id].status == "queued" and smtp.inbox.envelopes == []
