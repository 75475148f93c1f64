"""POST /api/v1/mail/{id}/resend: an administrator sends a failed e-mail again."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.smtp import RecordingSender
from tests.activities.helpers import MAIL_FROM, sample
from tests.frontdoor import FrontDoor
from tests.smtp import SmtpServer


async def test_an_admin_resends_a_failed_mail(door: FrontDoor, smtp: SmtpServer) -> None:
    n = sample("warning")
    acts = NotifyActivities(door.stack.engine, RecordingSender(), MAIL_FROM)
    ActivityEnvironment().run(acts.queue, n)
    await ActivityEnvironment().run(acts.mark_failed, n.id, "gave up after 3 days")

    async with await door.as_user("sup.zhang") as sup:
        r = await sup.post(f"/api/v1/mail/{n.id}/resend")
        assert r.status_code == 403, r.text
    async with await door.as_user("admin.ops") as admin:
        r = await admin.post(f"/api/v1/mail/{n.id}/resend")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == n.id
        [msg] = [m for m in smtp.inbox.messages() if m["X-Appeals-Notification"] == n.id]
        r = await admin.post(f"/api/v1/mail/{n.id}/resend")
        assert r.status_code == 409
        assert r.json()["detail"] == f"e-mail {n.id} is not failed: it was sent"
