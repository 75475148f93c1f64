"""E-mail to the offices: render a :class:`~models.notify.Notification`
(activities/mail.py), send it over SMTP (activities/smtp.py) and keep one outbox row
per notification (activities/outbox.py), with a status per recipient, so that a
retried activity neither adds a row nor mails an office twice, and a recipient the
server refused is tried again without mailing those who have it.

A mail that is still not delivered when its workflow gives up is ``failed``: an
administrator is told (a log line without personal data, and an e-mail to
``APPEALS_ADMIN_MAIL`` when set) and can send it again (``appeals mail resend ID``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities import outbox
from activities.mail import (
    NotificationError,
    mail_domain,
    mask_personal,
    message_id_for,
    render,
    render_subject,
)
from activities.outbox import FAILED, RETRYING, ResendError
from activities.smtp import EmailSender
from db.tables import OutboxRow
from models.notify import Notification, NotificationKind, SendResult
from reports.chart import rates_png
from reports.figures import Dimension, Window, figures, scope_clause

log = logging.getLogger(__name__)
T = TypeVar("T")
# Seconds to keep trying to record a delivery the SMTP server accepted, inside the send
# activity's 60 s (workflows/notification.py): past them the retry mails it again.
RECORD_PATIENCE = 20.0


def _logger() -> logging.LoggerAdapter[logging.Logger] | logging.Logger:
    return activity.logger if activity.in_activity() else log


class NotifyActivities:
    """The notify activities, bound to the read model and an :class:`EmailSender`.

    Outbox statuses and who moves them:

    * ``queue_notification``: (no row) → ``queued``; an existing row is left alone.
    * ``send_notification``: ``queued``/``retrying``/``failed`` → ``sent`` once every
      recipient has accepted the mail; → ``retrying`` (attempt, reason) on an SMTP or
      network failure or when the server refused some recipients, re-raised for
      Temporal to retry (only the refused are mailed again); → ``failed`` if the
      notification cannot be rendered (non-retryable). A ``sent`` row is returned as
      is, never mailed again.
    * ``mark_notification_failed``: ``queued``/``retrying`` → ``failed`` once the
      caller's retry policy gave up, and the administrator is alerted. ``sent`` is
      never overwritten.
    * :meth:`resend` (by hand, not an activity): ``failed`` → as ``send``.
    """

    def __init__(
        self, engine: Engine, sender: EmailSender, mail_from: str, admin_mail: str | None = None
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._mail_from = mail_from
        self._domain = mail_domain(mail_from)  # a bad APPEALS_MAIL_FROM fails at start-up
        self._admin_mail = admin_mail

    @activity.defn(name="queue_notification", no_thread_cancel_exception=True)
    def queue(self, n: Notification) -> None:
        """Record the notification as ``queued`` (idempotent on its id). Rendering the
        subject here means a bad context fails when the workflow decides to notify,
        not hours later when the mail is due."""
        try:
            subject = render_subject(n)
        except NotificationError as exc:
            # Leave a trace where supervisors look (the outbox), then fail loudly:
            # retrying cannot fix a bug in the caller's context.
            outbox.record(self._engine, n, FAILED, outbox.one_line(exc), attempt=None)
            raise _non_retryable(exc) from exc
        with Session(self._engine) as session:
            outbox.insert_if_absent(session, n, subject)
            session.commit()

    @activity.defn(name="start_notification")
    async def start(self, n: Notification) -> bool:
        """Start ``n``'s NotificationWorkflow (id ``mail-<notification id>``) on this
        worker's task queue, as a workflow of its own (patches.TASK_MAIL_STARTED_LOCALLY);
        False if it is running already (started by an earlier attempt: once is enough)."""
        try:
            await activity.client().start_workflow(
                "NotificationWorkflow",
                n,
                id=f"mail-{n.id}",
                task_queue=activity.info().task_queue,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    @activity.defn(name="send_notification")
    async def send(self, n: Notification) -> SendResult:
        """Send the mail to the recipients that do not have it yet, unless the outbox
        says it was sent already."""
        done = await asyncio.to_thread(outbox.sent_result, self._engine, n.id)
        if done is not None:
            return done
        # Temporal numbers attempts from 1; 0 says "called outside an activity" (a
        # script, a resend), and the row then counts one more.
        attempt = activity.info().attempt if activity.in_activity() else 0
        try:
            message = await self.compose(n)
        except NotificationError as exc:
            await asyncio.to_thread(
                outbox.record, self._engine, n, FAILED, outbox.one_line(exc), attempt=attempt
            )
            raise _non_retryable(exc) from exc
        subject = str(message["Subject"])
        message_id = str(message["Message-ID"])
        pending = await asyncio.to_thread(
            outbox.claim, self._engine, n, subject=subject, attempt=attempt
        )
        try:
            refused = await self._sender.send(message, pending)
        except Exception as exc:
            reason = outbox.one_line(exc)
            await asyncio.to_thread(
                outbox.record, self._engine, n, RETRYING, reason, attempt=attempt, subject=subject
            )
            _logger().warning("notification %s not sent: %s", n.id, reason)
            raise
        # If the worker dies between the server's 250 and this write, the retry mails
        # again; the stable Message-ID lets the receiving client fold the two. A read
        # model that fails this write is tried again for a while, for the same reason.
        sent_at = await patiently(
            functools.partial(
                outbox.record_delivery,
                self._engine,
                n,
                subject=subject,
                attempt=attempt,
                accepted=[a for a in pending if a not in refused],
                refused=refused,
                message_id=message_id,
            )
        )
        if sent_at is None:
            reason = outbox.refused_text(refused)
            _logger().warning("notification %s: %s; retrying those", n.id, reason)
            # Retryable: the next attempt mails only the refused recipients.
            raise ApplicationError(reason, type="RecipientsRefused")
        return SendResult(notification_id=n.id, message_id=message_id, sent_at=sent_at)

    async def compose(self, n: Notification) -> EmailMessage:
        """The message of ``n`` (a report with its chart).

        Raises:
            NotificationError: the notification cannot be rendered.
        """
        message = render(n, mail_from=self._mail_from)
        if n.kind is NotificationKind.report:
            chart = await asyncio.to_thread(self._chart, n)
            message.add_attachment(chart, maintype="image", subtype="png", filename="rates.png")
        return message

    @activity.defn(name="mark_notification_failed")
    async def mark_failed(self, notification_id: str, reason: str) -> None:
        """Record that the caller gave up on a notification, and alert the administrator."""
        row = await asyncio.to_thread(outbox.mark_failed, self._engine, notification_id, reason)
        if row is None:
            return  # nothing queued, sent after all, or failed (and alerted) already
        # Ids, the event and the SMTP reason only: never the worker's name or phone.
        _logger().error(
            "e-mail %s (case %s, %s) failed after its retry window: %s; "
            "resend with `appeals mail resend %s`",
            row.id,
            row.case_id,
            row.event,
            mask_personal(row.last_error or ""),
            row.id,
        )
        if not self._admin_mail:
            return
        try:
            refused = await self._sender.send(self._admin_alert(row))
        except Exception as exc:  # the mail system may be what failed: the log says it
            _logger().error("admin alert for e-mail %s not sent: %s", row.id, outbox.one_line(exc))
            return
        if refused:
            _logger().error("admin alert for e-mail %s refused: %s", row.id, refused)

    async def resend(self, notification_id: str) -> SendResult:
        """Send a ``failed`` notification again, now, to the recipients that do not have
        it; an administrator's command, not an activity.

        Raises:
            ResendError: the mail is unknown, not failed, or not sent again (it stays
                ``failed``, with the new reason).
        """
        n = await asyncio.to_thread(outbox.for_resend, self._engine, notification_id)
        try:
            return await self.send(n)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ApplicationError) else outbox.one_line(exc)
            await asyncio.to_thread(outbox.mark_failed, self._engine, n.id, reason)
            raise ResendError(f"e-mail {n.id} not sent: {' '.join(reason.split())}") from exc

    def _chart(self, n: Notification) -> bytes:
        """The weekly report's chart: the offices' rates for the report's week and
        regions, drawn from the read model when the mail is sent (bytes do not belong
        in a workflow's history)."""
        ctx = n.context
        regions = [r for r in ctx.get("regions", "").split(",") if r] or None
        with Session(self._engine) as session:
            rows = figures(
                session=session,
                by=Dimension.office,
                window=Window(date.fromisoformat(ctx["start"]), date.fromisoformat(ctx["end"])),
                where=scope_clause(regions=regions),
            )
        return rates_png(rows, title=f"{ctx.get('office_name', '')} {ctx.get('week', '')}")

    def _admin_alert(self, row: OutboxRow) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[诉求 {row.case_id}] 邮件发送失败 · {row.event}"
        msg["From"] = self._mail_from
        msg["To"] = self._admin_mail
        msg["Date"] = format_datetime(row.created_at)
        msg["Message-ID"] = message_id_for(f"{row.id}:failed", self._domain)
        msg["X-Appeals-Case"] = row.case_id
        msg["X-Appeals-Event"] = "mail-failed"
        msg["X-Appeals-Notification"] = row.id
        status = outbox.delivery(row)
        lines = [
            f"{a}: {status.get(a, {}).get('status', 'not sent')}"
            + (f" ({status[a]['reply']})" if status.get(a, {}).get("reply") else "")
            for a in row.recipients.split(",")
        ]
        msg.set_content(
            "系统管理员：\n\n"
            f"以下邮件在重试期限内未能送达，已标记为失败：\n\n"
            f"邮件编号：{row.id}\n诉求编号：{row.case_id}\n"
            + (f"任务编号：{row.task_id}\n" if row.task_id else "")
            + f"事件：{row.event}\n主题：{row.subject}\n"
            f"最后错误：{mask_personal(row.last_error or '')}\n\n"
            "各收件人状态：\n" + "\n".join(f"  {line}" for line in lines) + "\n\n"
            f"排除故障后重发：appeals mail resend {row.id}\n"
        )
        return msg


async def patiently(write: Callable[[], T]) -> T:
    """``write`` in a thread, again after a database error until RECORD_PATIENCE has
    passed since the first try (one SQLite try may itself wait its busy timeout)."""
    give_up = time.monotonic() + RECORD_PATIENCE
    pause = 0.5
    while True:
        try:
            return await asyncio.to_thread(write)
        except DBAPIError:
            if time.monotonic() + pause > give_up:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


def _non_retryable(exc: NotificationError) -> ApplicationError:
    return ApplicationError(str(exc), type="NotificationError", non_retryable=True)
