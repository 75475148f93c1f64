"""E-mail to the offices: render a :class:`~models.notify.Notification` from the Chinese
Jinja2 templates in ``activities/templates/``, send it over SMTP, and keep one outbox
row per notification, so that a retried activity neither adds a row nor mails an
office twice.

Template context
----------------
From the notification itself, every template gets ``case_id``, ``task_id`` (or
None), ``clock`` (code or None), ``event``, ``urgent``, ``greeting`` (the recipients'
display names joined with 、, or 您好) and ``subject`` (for the HTML title).

From ``Notification.context`` (strings, already worded as they should read; the
caller formats times in the deployment's zone):

==================  ============================================  ======================
key                 meaning                                        kinds
==================  ============================================  ======================
``office_name``     the office holding the task (天河区人社局)     all
``category_label``  the category's label (拖欠劳动报酬)            all
``clock_label``     the clock's label (签收, 答复 …)               warning, breach
``due_at``          due time, local text ("2026-11-30 17:30")      warning, breach
``fraction``        share of the period used, as shown ("50%")     warning
``rung``            escalation rung: "1", "2" or "3"               breach
``urged_by``        who urges (市社会工作部, a supervisor's id)    urge
``text``            the message (a supervisor's note, an info)     urge, info
``headline``        one line saying what happened                 info
==================  ============================================  ======================

Optional keys, shown when given and non-blank:

* every kind: ``category`` (the code, wage_arrears), ``role`` (主办 or 协办),
  ``summary_masked`` (the grievance summary without personal data) and ``external``
  (non-blank: every recipient is outside this system, e.g. another region's 12345
  hotline, so the mail asks for a written answer instead of pointing to the CLI);
* warning: ``period`` (a period code such as ``5wd``, shown as 5个工作日, or text) and
  ``remaining`` (time left, as text: "2个工作日");
* breach: ``period`` and ``late_by`` (how late, as text: "3个工作日");
* urge: ``clock_label`` and ``due_at``.

:data:`REQUIRED_KEYS` and :data:`OPTIONAL_KEYS` are the contract. :func:`render`
rejects a missing or blank required key with one line naming what the kind needs.
Other keys are ignored and never reach a template, so a template can only rely on
what is documented here, and a caller may carry extra keys (its own ids, a priority)
without breaking the mail.

The context never carries the worker's name, phone or ID number. As a second line of
defence, :func:`render` masks anything in the context that looks like a mobile number
or a citizen ID number before a template sees it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.tables import OutboxRow
from models.intake import mask_id, mask_phone
from models.notify import Notification, NotificationKind, SendResult

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

_COMMON = frozenset({"office_name", "category_label"})
REQUIRED_KEYS: Mapping[NotificationKind, frozenset[str]] = {
    NotificationKind.warning: _COMMON | {"clock_label", "due_at", "fraction"},
    NotificationKind.breach: _COMMON | {"clock_label", "due_at", "rung"},
    NotificationKind.urge: _COMMON | {"urged_by", "text"},
    NotificationKind.info: _COMMON | {"headline", "text"},
}
_ANY = frozenset({"category", "role", "summary_masked", "external"})
OPTIONAL_KEYS: Mapping[NotificationKind, frozenset[str]] = {
    NotificationKind.warning: _ANY | {"period", "remaining"},
    NotificationKind.breach: _ANY | {"period", "late_by"},
    NotificationKind.urge: _ANY | {"clock_label", "due_at"},
    NotificationKind.info: _ANY,
}
RUNGS = ("1", "2", "3")

# Outbox statuses (see db.tables.OutboxRow).
QUEUED, RETRYING, SENT, FAILED = "queued", "retrying", "sent", "failed"

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # Templates are named <kind>.html.j2, so "html" alone would not match them.
    autoescape=select_autoescape(["html", "html.j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

# Mobile numbers, with or without separators, and 18-character citizen ID numbers;
# the look-arounds keep longer digit runs (order numbers, amounts) intact.
_PHONE = re.compile(r"(?<![\d])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\d])")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_MAX_ERROR = 500

_PERIOD = re.compile(r"^(\d+)(wd|wh|d|h|m)$")
_PERIOD_UNITS = {"wd": "个工作日", "wh": "个工作小时", "d": "天", "h": "小时", "m": "分钟"}


def period_text(period: str) -> str:
    """``5wd`` → 5个工作日 (the clock syntax of DESIGN.md); anything else as given."""
    m = _PERIOD.match(period.strip())
    return f"{m.group(1)}{_PERIOD_UNITS[m.group(2)]}" if m else period


_ENV.filters["period_text"] = period_text


class NotificationError(ValueError):
    """A notification that cannot be rendered: retrying will not fix it."""


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    """Sends through an SMTP server with aiosmtplib, one connection per message: the
    engine sends a few mails an hour, and a fresh connection never finds a socket the
    server closed while idle."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        if use_tls and start_tls:
            raise ValueError("SMTP: use either implicit TLS or STARTTLS, not both")
        self.host, self.port = host, port
        self.username = username
        self._password = password
        self.use_tls, self.start_tls = use_tls, start_tls
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.sink_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls,
        )

    def __repr__(self) -> str:  # never the password
        return f"SmtpSender({self.host}:{self.port}, user={self.username!r})"

    async def send(self, message: EmailMessage) -> None:
        errors, _ = await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self._password,
            use_tls=self.use_tls,
            # Explicit, not aiosmtplib's "whenever offered": a relay with a
            # self-signed certificate must not start failing because it began
            # advertising STARTTLS.
            start_tls=self.start_tls,
            timeout=self.timeout,
        )
        # aiosmtplib raises only when every recipient is refused. Some were
        # accepted, so the mail left: raising would make Temporal mail them again.
        if errors:
            refused = ", ".join(f"{a} ({r.code} {r.message})" for a, r in errors.items())
            log.warning("SMTP refused some recipients of %s: %s", message["Message-ID"], refused)


class RecordingSender:
    """A fake :class:`EmailSender` for tests: keeps every message, or raises
    ``fail_with`` (set it, clear it) to act as an unreachable server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.fail_with: BaseException | None = None

    async def send(self, message: EmailMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.messages.append(message)


def message_id_for(notification_id: str, domain: str) -> str:
    """The Message-ID of a notification: the same id always gives the same header, so
    a mail sent twice (an ack lost after the server accepted it) is one message to a
    mail client that de-duplicates, and traceable to its outbox row either way."""
    digest = hashlib.sha256(notification_id.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def mail_domain(mail_from: str) -> str:
    """The domain of ``mail_from`` (``"诉求平台 <noreply@appeals.example>"`` works too)."""
    _, address = parseaddr(mail_from)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        raise ValueError(f"mail_from {mail_from!r} is not an e-mail address (APPEALS_MAIL_FROM)")
    return domain


def check_context(notification: Notification) -> None:
    """Raise :class:`NotificationError` unless every key the kind requires is there and
    non-blank (and a breach's rung is 1, 2 or 3) and there is a recipient."""
    kind = notification.kind
    ctx = notification.context
    required, optional = REQUIRED_KEYS[kind], OPTIONAL_KEYS[kind]
    missing = sorted(k for k in required if not ctx.get(k, "").strip())
    problems = []
    if missing:
        problems.append(f"missing or blank {', '.join(missing)}")
    if not missing and kind is NotificationKind.breach and ctx["rung"] not in RUNGS:
        problems.append(f"rung {ctx['rung']!r} is not one of {', '.join(RUNGS)}")
    if not notification.to:
        problems.append("no recipients")
    if problems:
        raise NotificationError(
            f"notification {notification.id!r} ({kind}): {'; '.join(problems)}"
            f" — a {kind} needs {', '.join(sorted(required))}"
            f" and may have {', '.join(sorted(optional))}"
        )


def mask_personal(text: str) -> str:
    """Mask mobile and citizen ID numbers the way the CLI does (138****8001)."""
    text = _ID_NUMBER.sub(lambda m: mask_id(m.group()) or "", text)
    return _PHONE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())[-11:]), text)


def _template_context(notification: Notification) -> dict[str, Any]:
    check_context(notification)
    kind = notification.kind
    names = [r.name for r in notification.to if r.name]
    allowed = REQUIRED_KEYS[kind] | OPTIONAL_KEYS[kind]
    # Absent optional keys become "", so templates test them with a plain `if`
    # while StrictUndefined still catches a template using an undocumented key.
    ctx: dict[str, Any] = dict.fromkeys(OPTIONAL_KEYS[kind], "")
    ctx.update(
        {k: mask_personal(v.strip()) for k, v in notification.context.items() if k in allowed}
    )
    ctx.update(
        case_id=notification.case_id,
        task_id=notification.task_id,
        clock=notification.clock,
        event=notification.event,
        urgent=notification.urgent,
        greeting="、".join(names) if names else "您好",
    )
    return ctx


def render_subject(notification: Notification) -> str:
    return _subject(notification.kind, _template_context(notification))


def _subject(kind: NotificationKind, ctx: Mapping[str, Any]) -> str:
    # One line whatever the template's whitespace: a newline in a header would end it.
    return " ".join(_ENV.get_template(f"{kind}.subject.j2").render(ctx).split())


def render(notification: Notification, *, mail_from: str) -> EmailMessage:
    """The e-mail for a notification: a plain-text body with an HTML alternative.

    Raises:
        NotificationError: the context does not fit the kind (see the module docstring).
    """
    kind = notification.kind
    ctx = _template_context(notification)
    ctx["subject"] = _subject(kind, ctx)
    text = _ENV.get_template(f"{kind}.txt.j2").render(ctx)
    html = _ENV.get_template(f"{kind}.html.j2").render(ctx)

    msg = EmailMessage()
    msg["Subject"] = ctx["subject"]
    msg["From"] = mail_from
    try:
        # The policy encodes Chinese display names (RFC 2047); addresses stay ASCII.
        msg["To"] = [
            Address(display_name=r.name or "", addr_spec=r.address) for r in notification.to
        ]
    except (ValueError, IndexError) as exc:
        raise NotificationError(f"notification {notification.id!r}: bad recipient: {exc}") from exc
    # The decision's time, not the send's, so every attempt builds the same message.
    msg["Date"] = format_datetime(_aware(notification.created_at))
    msg["Message-ID"] = message_id_for(notification.id, mail_domain(mail_from))
    msg["X-Appeals-Case"] = notification.case_id
    if notification.task_id is not None:
        msg["X-Appeals-Task"] = notification.task_id
    if notification.clock is not None:
        msg["X-Appeals-Clock"] = notification.clock
    msg["X-Appeals-Event"] = notification.event
    msg["X-Appeals-Notification"] = notification.id
    if notification.urgent:
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class NotifyActivities:
    """The notify activities, bound to the read model and an :class:`EmailSender`.

    Outbox statuses and who moves them:

    * ``queue_notification``: (no row) → ``queued``; an existing row is left alone.
    * ``send_notification``: ``queued``/``retrying``/``failed`` → ``sent`` on success,
      → ``retrying`` (attempt, reason) on an SMTP or network failure, which it
      re-raises for Temporal to retry; → ``failed`` if the notification cannot be
      rendered (non-retryable). A ``sent`` row is returned as is, never mailed again.
    * ``mark_notification_failed``: ``queued``/``retrying`` → ``failed`` once the
      caller's retry policy gave up. ``sent`` is never overwritten.
    """

    def __init__(self, engine: Engine, sender: EmailSender, mail_from: str) -> None:
        self._engine = engine
        self._sender = sender
        self._mail_from = mail_from
        self._domain = mail_domain(mail_from)  # a bad APPEALS_MAIL_FROM fails at start-up

    @activity.defn(name="queue_notification")
    def queue(self, n: Notification) -> None:
        """Record the notification as ``queued`` (idempotent on its id). Rendering the
        subject here means a bad context fails when the workflow decides to notify,
        not hours later when the mail is due."""
        try:
            subject = render_subject(n)
        except NotificationError as exc:
            # Leave a trace where supervisors look (the outbox), then fail loudly:
            # retrying cannot fix a bug in the caller's context.
            self._record(n, FAILED, _one_line(exc), attempt=None)
            raise _non_retryable(exc) from exc
        with Session(self._engine) as session:
            _insert_if_absent(session, n, subject)
            session.commit()

    @activity.defn(name="send_notification")
    async def send(self, n: Notification) -> SendResult:
        """Send the mail unless the outbox says it was sent already."""
        done = await asyncio.to_thread(self._sent_result, n.id)
        if done is not None:
            return done
        # Temporal numbers attempts from 1; 0 says "called outside an activity" (a
        # script, a unit test), and the row then counts one more.
        attempt = activity.info().attempt if activity.in_activity() else 0
        try:
            message = render(n, mail_from=self._mail_from)
        except NotificationError as exc:
            await asyncio.to_thread(self._record, n, FAILED, _one_line(exc), attempt=attempt)
            raise _non_retryable(exc) from exc
        subject = str(message["Subject"])
        try:
            await self._sender.send(message)
        except Exception as exc:
            reason = _one_line(exc)
            await asyncio.to_thread(
                self._record, n, RETRYING, reason, attempt=attempt, subject=subject
            )
            activity.logger.warning("notification %s not sent: %s", n.id, reason)
            raise
        # If the worker dies between the server's 250 and this write, the retry mails
        # again; the stable Message-ID lets the receiving client fold the two.
        sent_at = datetime.now(UTC)
        message_id = str(message["Message-ID"])
        await asyncio.to_thread(self._record_sent, n, subject, attempt, message_id, sent_at)
        return SendResult(notification_id=n.id, message_id=message_id, sent_at=sent_at)

    @activity.defn(name="mark_notification_failed")
    def mark_failed(self, notification_id: str, reason: str) -> None:
        """Record that the caller gave up on a notification."""
        with Session(self._engine) as session:
            row = session.get(OutboxRow, notification_id)
            if row is None:
                # Nothing was queued (queueing itself failed): there is no mail to mark.
                activity.logger.warning("mark_failed: no outbox row %s", notification_id)
                return
            if row.status == SENT:
                return  # a late attempt got through after all: the truth is "sent"
            row.status = FAILED
            row.last_error = _clip(" ".join(reason.split()))
            session.commit()

    # -- the blocking halves, run in a thread by the async activity ------------------

    def _sent_result(self, notification_id: str) -> SendResult | None:
        with Session(self._engine) as session:
            row = session.get(OutboxRow, notification_id)
            if row is None or row.status != SENT:
                return None
            assert row.message_id is not None and row.sent_at is not None
            return SendResult(
                notification_id=row.id, message_id=row.message_id, sent_at=row.sent_at
            )

    def _record(
        self,
        n: Notification,
        status: str,
        reason: str,
        *,
        attempt: int | None,
        subject: str = "",
    ) -> None:
        """Record a failure; ``attempt`` None means no send was attempted (queueing)."""
        with Session(self._engine) as session:
            row = _insert_if_absent(session, n, subject)
            if row.status == SENT:
                return  # a concurrent attempt won; never move a sent row backwards
            row.status = status
            if attempt is not None:
                row.attempts = _count(row, attempt)
            row.last_error = reason
            session.commit()

    def _record_sent(
        self,
        n: Notification,
        subject: str,
        attempt: int,
        message_id: str,
        sent_at: datetime,
    ) -> None:
        with Session(self._engine) as session:
            row = _insert_if_absent(session, n, subject)
            if row.status == SENT:
                return
            row.status = SENT
            row.attempts = _count(row, attempt)
            row.message_id = message_id
            row.sent_at = sent_at
            session.commit()


def _insert_if_absent(session: Session, n: Notification, subject: str) -> OutboxRow:
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
        "created_at": _aware(n.created_at),
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


def _count(row: OutboxRow, attempt: int) -> int:
    return attempt if attempt > 0 else row.attempts + 1


def _aware(at: datetime) -> datetime:
    # workflow.now() is aware; a hand-made notification may not be: read it as UTC
    # rather than let the read model reject it hours later, at send time.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _one_line(exc: BaseException) -> str:
    """``SMTPConnectError: Error connecting to 127.0.0.1 on port 2525: …`` on one line."""
    text = " ".join(str(exc).split()) or repr(exc)
    return _clip(f"{type(exc).__name__}: {text}")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _non_retryable(exc: NotificationError) -> ApplicationError:
    return ApplicationError(str(exc), type="NotificationError", non_retryable=True)
