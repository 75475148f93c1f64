"""NotifyActivities against a real SQLite read model and a real SMTP server: queueing
and sending are idempotent, a failed send leaves a trace and is retried, a sent mail
is never sent again."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.smtp import RecordingSender, SmtpSender
from db import queries
from db.engine import alembic_config
from db.tables import OutboxRow
from models.notify import Notification
from tests.smtp import SmtpServer

from .helpers import AT, CASE, MAIL_FROM, TASK, sample


def attempt(number: int) -> ActivityEnvironment:
    """An activity context whose activity.info().attempt is ``number``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


def row(engine: Engine, notification_id: str) -> OutboxRow:
    with Session(engine) as session:
        found = session.get(OutboxRow, notification_id)
        assert found is not None, f"no outbox row {notification_id}"
        return found


def activities(engine: Engine, server: SmtpServer) -> NotifyActivities:
    return NotifyActivities(engine, SmtpSender(server.host, server.port, timeout=5), MAIL_FROM)


def test_queue_is_idempotent(engine: Engine) -> None:
    acts = NotifyActivities(engine, RecordingSender(), MAIL_FROM)
    n = sample("breach-2")
    env = ActivityEnvironment()
    env.run(acts.queue, n)
    env.run(acts.queue, n)
    with Session(engine) as session:
        rows = queries.outbox_for_case(session=session, case_id=CASE)
    assert len(rows) == 1
    [r] = rows
    assert (r.id, r.status, r.attempts, r.kind, r.event) == (n.id, "queued", 0, "breach", "rung-2")
    assert (r.case_id, r.task_id, r.clock) == (CASE, TASK, "reply")
    assert r.recipients == "hrss.gz@appeals.example,shgzb.gz@appeals.example"
    assert r.subject == f"[诉求 {CASE}] 超时督办（第2级）· 答复 · 天河区人力资源和社会保障局"
    assert r.created_at == AT and r.sent_at is None and r.message_id is None


async def test_send_marks_sent_and_never_sends_twice(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("warning")
    env = ActivityEnvironment()
    env.run(acts.queue, n)

    result = await env.run(acts.send, n)
    r = row(engine, n.id)
    assert (r.status, r.attempts, r.last_error) == ("sent", 1, None)
    assert r.message_id == result.message_id and r.sent_at == result.sent_at
    assert result.notification_id == n.id
    [msg] = smtp_server.inbox.messages()
    assert msg["Message-ID"] == result.message_id

    # A retry after a lost ack, and a workflow re-running its queue step.
    again = await attempt(2).run(acts.send, n)
    attempt(2).run(acts.queue, n)
    assert again == result
    assert len(smtp_server.inbox.envelopes) == 1
    assert row(engine, n.id).status == "sent"


async def test_a_stopped_server_leaves_retrying_then_a_retry_gets_through(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("breach-1")
    ActivityEnvironment().run(acts.queue, n)
    smtp_server.stop()

    with pytest.raises(Exception, match="127.0.0.1") as raised:
        await attempt(3).run(acts.send, n)
    assert not isinstance(raised.value, ApplicationError)  # plain: Temporal retries it
    r = row(engine, n.id)
    assert (r.status, r.attempts) == ("retrying", 3)
    assert r.last_error is not None and r.last_error.startswith("SMTPConnectError: ")
    assert "\n" not in r.last_error and str(smtp_server.port) in r.last_error
    assert r.sent_at is None

    smtp_server.start()
    result = await attempt(4).run(acts.send, n)
    r = row(engine, n.id)
    assert (r.status, r.attempts, r.message_id) == ("sent", 4, result.message_id)
    assert len(smtp_server.inbox.envelopes) == 1
    with Session(engine) as session:
        assert [x.id for x in queries.outbox(session=session, status="retrying")] == []
        assert [x.id for x in queries.outbox(session=session, status="sent")] == [n.id]


async def test_an_smtp_refusal_is_recorded_and_retried(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("urge")
    smtp_server.inbox.reject_with = "451 4.3.0 Mail server temporarily rejected message"
    with pytest.raises(Exception, match="451"):
        await ActivityEnvironment().run(acts.send, n)  # not queued first: send inserts
    r = row(engine, n.id)
    assert (r.status, r.attempts) == ("retrying", 1)
    assert r.last_error is not None and "451" in r.last_error
    assert r.subject.startswith(f"[诉求 {CASE}] 督办")

    smtp_server.inbox.reject_with = None
    await attempt(2).run(acts.send, n)
    assert row(engine, n.id).status == "sent"


async def test_mark_failed_records_the_end_but_never_undoes_sent(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    env = ActivityEnvironment()
    lost, delivered = sample("breach-3"), sample("info")
    for n in (lost, delivered):
        env.run(acts.queue, n)
    await env.run(acts.send, delivered)

    await env.run(acts.mark_failed, lost.id, "activity ScheduleToClose timeout\n after 3 days")
    await env.run(acts.mark_failed, delivered.id, "a late failure report")
    await env.run(acts.mark_failed, "no-such-notification", "nothing to mark")

    r = row(engine, lost.id)
    assert (r.status, r.last_error) == ("failed", "activity ScheduleToClose timeout after 3 days")
    assert row(engine, delivered.id).status == "sent"
    with Session(engine) as session:
        assert [x.id for x in queries.outbox(session=session, status="failed")] == [lost.id]
        assert len(queries.outbox(session=session)) == 2
        assert len(queries.outbox(session=session, limit=1)) == 1


async def test_a_bad_context_fails_at_once_and_says_why(engine: Engine) -> None:
    sender = RecordingSender()
    acts = NotifyActivities(engine, sender, MAIL_FROM)
    n = sample("breach-2")
    del n.context["due_at"]
    with pytest.raises(ApplicationError, match="missing or blank due_at") as raised:
        ActivityEnvironment().run(acts.queue, n)
    assert raised.value.non_retryable
    r = row(engine, n.id)
    assert (r.status, r.attempts) == ("failed", 0)
    assert r.last_error is not None and "due_at" in r.last_error

    with pytest.raises(ApplicationError, match="missing or blank due_at") as raised:
        await attempt(1).run(acts.send, n)
    assert raised.value.non_retryable
    assert sender.messages == []
    assert row(engine, n.id).status == "failed"


async def test_recording_sender_for_unit_tests(engine: Engine) -> None:
    sender = RecordingSender()
    acts = NotifyActivities(engine, sender, MAIL_FROM)
    n = sample("info")
    sender.fail_with = ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(ConnectionRefusedError):
        await ActivityEnvironment().run(acts.send, n)
    assert row(engine, n.id).last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    sender.fail_with = None
    await attempt(2).run(acts.send, n)
    [msg] = sender.messages
    assert msg["X-Appeals-Notification"] == n.id
    assert row(engine, n.id).status == "sent"


async def test_outside_temporal_attempts_are_counted_by_the_row(engine: Engine) -> None:
    sender = RecordingSender()
    acts = NotifyActivities(engine, sender, MAIL_FROM)
    n = sample("warning")
    sender.fail_with = TimeoutError()
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await acts.send(n)
    assert row(engine, n.id).attempts == 2
    assert row(engine, n.id).last_error == "TimeoutError: TimeoutError()"


def test_outbox_for_case_lists_in_decision_order(engine: Engine) -> None:
    acts = NotifyActivities(engine, RecordingSender(), MAIL_FROM)
    env = ActivityEnvironment()
    later: Notification = sample("breach-1", created_at=AT.replace(hour=5))
    for n in (later, sample("warning"), sample("urge", case_id="AP-OTHER")):
        env.run(acts.queue, n)
    with Session(engine) as session:
        ids = [r.id for r in queries.outbox_for_case(session=session, case_id=CASE)]
        newest = [r.id for r in queries.outbox(session=session)]
    assert ids == [sample("warning").id, later.id]
    assert newest[0] == later.id


def test_migration_0002_creates_and_drops_the_outbox(engine: Engine) -> None:
    from alembic import command

    url = str(engine.url)
    indexes: Any = {i["name"] for i in inspect(engine).get_indexes("outbox")}
    assert indexes == {"ix_outbox_case_id", "ix_outbox_status", "ix_outbox_next_attempt"}
    command.downgrade(alembic_config(url), "0001")
    assert "outbox" not in inspect(engine).get_table_names()
    command.upgrade(alembic_config(url), "0002")
    assert "outbox" in inspect(engine).get_table_names()
