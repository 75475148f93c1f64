"""`appeals mail resend ID`: a local administration command that sends a failed
e-mail again (a real SQLite read model, a real SMTP server)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.smtp import RecordingSender
from db.engine import make_engine, migrate
from tests.activities.helpers import MAIL_FROM, sample
from tests.commands.conftest import APPEALS
from tests.smtp import SmtpServer


def test_resend_a_failed_mail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'appeals.db'}"
    migrate(url)
    engine = make_engine(url)
    n = sample("urge")
    acts = NotifyActivities(engine, RecordingSender(), MAIL_FROM)
    ActivityEnvironment().run(acts.queue, n)
    asyncio.run(ActivityEnvironment().run(acts.mark_failed, n.id, "gave up after 3 days"))
    engine.dispose()

    server = SmtpServer()
    server.start()
    try:
        env = os.environ | {
            "APPEALS_DATA_DIR": str(tmp_path),
            "APPEALS_DATABASE_URL": url,
            "APPEALS_SMTP_HOST": server.host,
            "APPEALS_SMTP_PORT": str(server.port),
        }

        def appeals(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [APPEALS, *args], capture_output=True, text=True, env=env, timeout=60, check=False
            )

        done = appeals("mail", "resend", n.id)
        assert done.returncode == 0, done.stderr
        assert f"sent {n.id}" in done.stdout
        [msg] = server.inbox.messages()
        assert msg["X-Appeals-Notification"] == n.id

        again = appeals("mail", "resend", n.id)
        assert again.returncode == 1
        assert again.stderr.strip() == f"error: e-mail {n.id} is not failed: it was sent"
        unknown = appeals("mail", "resend", "no-such-mail")
        assert unknown.returncode == 1 and "no e-mail 'no-such-mail'" in unknown.stderr
    finally:
        server.stop()
