"""Rendering a :class:`~models.notify.Notification` as an e-mail, from the Chinese
Jinja2 templates in ``activities/templates/`` (pure: no I/O but the templates).

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
``todo``            what the office is to do, one line            task
``deadlines``       one line per clock: label, due time, period   task
``day``             the digest's day ("2026-12-07")               digest
``open_count``      open tasks (also overdue_count, due_today_count) digest
``overdue``         one line per task clock (also ``due_today``)   digest
``week``            the report's week ("2026-11-30 至 2026-12-06") report
``table``           one line per office with its rates            report
==================  ============================================  ======================

A digest and a weekly report concern no case: their ``case_id`` names the run
(``DIGEST-2026-12-07``), and only ``office_name`` (the office, or the supervisor's
region) of the common keys is required. A report's ``regions`` (comma-separated, or
empty for everywhere), ``start`` and ``end`` keys say which figures its chart shows;
the chart is drawn when the mail is sent (``NotifyActivities``), not carried here.

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

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.intake import mask_id, mask_name, mask_phone
from models.notify import Notification, NotificationKind

TEMPLATES = Path(__file__).parent / "templates"

_COMMON = frozenset({"office_name", "category_label"})
REQUIRED_KEYS: Mapping[NotificationKind, frozenset[str]] = {
    NotificationKind.warning: _COMMON | {"clock_label", "due_at", "fraction"},
    NotificationKind.breach: _COMMON | {"clock_label", "due_at", "rung"},
    NotificationKind.urge: _COMMON | {"urged_by", "text"},
    NotificationKind.info: _COMMON | {"headline", "text"},
    NotificationKind.task: _COMMON | {"todo", "deadlines"},
    NotificationKind.digest: frozenset(
        {"office_name", "day", "open_count", "overdue_count", "due_today_count"}
    ),
    NotificationKind.report: frozenset({"office_name", "week", "table"}),
}
_ANY = frozenset({"category", "role", "summary_masked", "external"})
OPTIONAL_KEYS: Mapping[NotificationKind, frozenset[str]] = {
    NotificationKind.warning: _ANY | {"period", "remaining"},
    NotificationKind.breach: _ANY | {"period", "late_by"},
    NotificationKind.urge: _ANY | {"clock_label", "due_at"},
    NotificationKind.info: _ANY,
    NotificationKind.task: _ANY,
    NotificationKind.digest: frozenset({"overdue", "due_today"}),
    NotificationKind.report: frozenset(),
}
RUNGS = ("1", "2", "3")

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
PHONE_IN_TEXT = re.compile(r"(?<![\d])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\d])")
ID_IN_TEXT = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
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
    text = ID_IN_TEXT.sub(lambda m: mask_id(m.group()) or "", text)
    return PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())[-11:]), text)


def mask_worker(text: str, name: str) -> str:
    """``mask_personal``, and the worker's own name wherever it was typed (王**): what
    those who may not see the worker read. A one-character name is left alone, since
    masking it would mask that character in every word."""
    text = mask_personal(text)
    name = name.strip()
    if len(name) >= 2:
        text = text.replace(name, mask_name(name))
    return text


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
    msg["Date"] = format_datetime(aware(notification.created_at))
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


def aware(at: datetime) -> datetime:
    """workflow.now() is aware; a hand-made notification may not be: read it as UTC
    rather than let the read model reject it hours later, at send time."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
