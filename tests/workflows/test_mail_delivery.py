"""NotificationWorkflow on the time-skipping server with a real SMTP server that
refuses one recipient: the others get the mail once, the refused one is retried for
the whole retry window, then the mail is 'failed' and the administrator is told."""

from __future__ import annotations

import json
import uuid

from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from db.tables import OutboxRow
from settings import Settings
from tests.activities.helpers import sample
from tests.conftest import running_stack
from tests.smtp import SmtpServer
from workflows.notification import NotificationWorkflow

ADMIN = "ops@appeals.example"
REFUSED = "shgzb.gz@appeals.example"


async def test_a_refused_recipient_ends_failed_and_alerts_the_admin(
    own_env: WorkflowEnvironment, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse = {REFUSED}
    n = sample("breach-2", id=f"AP-MAIL-{uuid.uuid4().hex[:6]}-T1:reply:rung-2")
    async with running_stack(own_env, settings.model_copy(update={"admin_mail": ADMIN})) as s:
        result = await s.client.execute_workflow(
            NotificationWorkflow.run, n, id=f"mail-{n.id}", task_queue=s.task_queue
        )
        assert result is None  # given up on
        with Session(s.engine) as session:
            row = session.get(OutboxRow, n.id)
            assert row is not None
            assert row.status == "failed" and row.attempts > 10
            delivery = json.loads(row.delivery or "{}")
    assert delivery["hrss.gz@appeals.example"]["status"] == "sent"
    assert delivery[REFUSED]["status"] == "refused"
    to_offices = [e for e in smtp.inbox.envelopes if ADMIN not in e.rcpt_tos]
    assert [e.rcpt_tos for e in to_offices] == [["hrss.gz@appeals.example"]]  # once
    [alert] = [m for m in smtp.inbox.messages() if m["To"] == ADMIN]
    assert f"appeals mail resend {n.id}" in alert.get_content()
