"""Delivery per recipient against a real SMTP server (aiosmtpd): a refused recipient
is recorded and retried without mailing the others again; a mail given up on is
'failed', the administrator is told, and it can be resent."""

from __future__ import annotations

import json
import logging

import pytest
from alembic import command
from sqlalchemy import Engine, inspect
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.outbox import ResendError
from activities.smtp import SmtpSender
from db.engine import alembic_config
from tests.smtp import SmtpServer

from .helpers import CASE, MAIL_FROM, sample
from .test_notify import attempt, row

CITY = "hrss.gz@appeals.example"
SUPERVISION = "shgzb.gz@appeals.example"
ADMIN = "ops@appeals.example"


def activities(engine: Engine, server: SmtpServer) -> NotifyActivities:
    sender = SmtpSender(server.host, server.port, timeout=5)
    return NotifyActivities(engine, sender, MAIL_FROM, admin_mail=ADMIN)


async def test_a_refused_recipient_is_recorded_and_only_it_is_retried(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("breach-2")  # to the city department and 社会工作部
    ActivityEnvironment().run(acts.queue, n)
    smtp_server.inbox.refuse = {SUPERVISION}

    with pytest.raises(ApplicationError, match=SUPERVISION) as raised:
        await attempt(1).run(acts.send, n)
    assert not raised.value.non_retryable and raised.value.type == "RecipientsRefused"
    r = row(engine, n.id)
    assert (r.status, r.attempts, r.sent_at) == ("retrying", 1, None)
    assert r.last_error is not None and "550" in r.last_error
    delivery = json.loads(r.delivery or "{}")
    assert delivery[CITY]["status"] == "sent"
    assert delivery[SUPERVISION]["status"] == "refused"
    assert delivery[SUPERVISION]["reply"].startswith("550 5.1.1")

    smtp_server.inbox.refuse = set()
    result = await attempt(2).run(acts.send, n)
    first, second = smtp_server.inbox.envelopes
    assert (first.rcpt_tos, second.rcpt_tos) == ([CITY], [SUPERVISION])
    a, b = smtp_server.inbox.messages()
    assert a["Message-ID"] == b["Message-ID"] == result.message_id
    r = row(engine, n.id)
    assert (r.status, r.attempts, r.last_error) == ("sent", 2, None)
    assert {v["status"] for v in json.loads(r.delivery or "{}").values()} == {"sent"}


async def test_every_recipient_refused_is_retried_too(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("warning")
    smtp_server.inbox.refuse = {r.address for r in n.to}
    with pytest.raises(ApplicationError, match="SMTP refused"):
        await attempt(1).run(acts.send, n)
    assert row(engine, n.id).status == "retrying"
    assert smtp_server.inbox.envelopes == []


async def test_given_up_mail_is_failed_alerts_the_admin_and_can_be_resent(
    engine: Engine, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    acts = activities(engine, smtp_server)
    env = ActivityEnvironment()
    n = sample("breach-2")
    n.context["summary_masked"] = "配送站拖欠工资，电话13800138001"
    env.run(acts.queue, n)
    smtp_server.inbox.refuse = {SUPERVISION}
    for number in (1, 2):
        with pytest.raises(ApplicationError):
            await attempt(number).run(acts.send, n)

    with caplog.at_level(logging.ERROR):
        await env.run(acts.mark_failed, n.id, "activity ScheduleToClose timeout")
        await env.run(acts.mark_failed, n.id, "reported twice")  # alerted once only
    assert row(engine, n.id).status == "failed"
    [line] = [
        r.getMessage() for r in caplog.records if "failed after its retry window" in r.message
    ]
    assert n.id in line and CASE in line and f"appeals mail resend {n.id}" in line
    assert "13800138001" not in line and "王" not in line

    [alert] = [m for m in smtp_server.inbox.messages() if m["To"] == ADMIN]
    assert alert["X-Appeals-Notification"] == n.id and CASE in alert["Subject"]
    body = alert.get_content()
    assert f"appeals mail resend {n.id}" in body and f"{SUPERVISION}: refused" in body
    assert f"{CITY}: sent" in body and "13800138001" not in body

    smtp_server.inbox.refuse = set()
    await acts.resend(n.id)
    r = row(engine, n.id)
    assert r.status == "sent" and r.sent_at is not None
    assert smtp_server.inbox.envelopes[-1].rcpt_tos == [SUPERVISION]
    with pytest.raises(ResendError, match="not failed: it was sent"):
        await acts.resend(n.id)
    with pytest.raises(ResendError, match="no e-mail 'nope'"):
        await acts.resend("nope")


async def test_a_resend_that_fails_again_stays_failed(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    acts = activities(engine, smtp_server)
    n = sample("info")
    ActivityEnvironment().run(acts.queue, n)
    await ActivityEnvironment().run(acts.mark_failed, n.id, "gave up")
    smtp_server.stop()
    with pytest.raises(ResendError, match=f"e-mail {n.id} not sent: SMTPConnectError"):
        await acts.resend(n.id)
    assert row(engine, n.id).status == "failed"


def test_migration_0007_adds_and_drops_the_delivery_columns(engine: Engine) -> None:
    url = str(engine.url)

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("outbox")}

    assert {"delivery", "notification"} <= columns()
    command.downgrade(alembic_config(url), "0005")
    assert not {"delivery", "notification"} & columns()
    command.upgrade(alembic_config(url), "head")
    assert {"delivery", "notification"} <= columns()
