"""What supervisors (and office heads, for their office) read: overdue and soon-due
tasks, returns, and the queues people work from — dispatch review with its review
clock, pending extension requests, cases awaiting the callback with its callback
clock — and the board's counts. Scoped in SQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from activities.notify import NotifyActivities
from activities.outbox import ResendError, UnknownMail
from activities.smtp import SmtpSender
from auth.identity import Principal
from auth.policy import Action
from db import queries
from services.context import Context
from services.errors import BadInput, Conflict, NotFound
from services.filters import check_filters
from services.privacy import masked_summary
from services.scope import case_task_clause, required_scope, task_clause
from services.views import CSV_FIELDS, calendar_for, iso, late_text, outbox_dict, time_left
from settings import Settings
from sla import OfficeHours, Period, Unit, add_working_time, due_at
from sla.ledger import mode_for


def horizon(now: datetime, within: str, s: Settings) -> datetime:
    """The end of a "due within" window: office time for wd/wh, wall time otherwise."""
    try:
        period = Period.parse(within)
    except ValueError as e:
        raise BadInput(f"within: {e}") from e
    calendar = calendar_for(s.rules_dir)
    if period.unit is Unit.wd:
        amount = OfficeHours().daily_total() * period.value
        return add_working_time(now, amount, calendar=calendar, tz=s.tz)
    if period.unit is Unit.wh:
        return add_working_time(now, period.exact(), calendar=calendar, tz=s.tz)
    return due_at(now, period, calendar=calendar, tz=s.tz)


def overdue(
    ctx: Context,
    p: Principal,
    *,
    department: str | None = None,
    region: str | None = None,
    clock: str | None = None,
    category: str | None = None,
    within: str | None = None,
    limit: int | None = 500,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Overdue tasks in scope, most overdue first; with ``within``, due soon and not late."""
    return list(
        overdue_rows(
            ctx,
            p,
            department=department,
            region=region,
            clock=clock,
            category=category,
            within=within,
            limit=limit,
            now=now,
        )
    )


def overdue_rows(
    ctx: Context,
    p: Principal,
    *,
    department: str | None = None,
    region: str | None = None,
    clock: str | None = None,
    category: str | None = None,
    within: str | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """``overdue`` as a stream: the whole list in constant memory, row by row. The
    scope and filters are checked before the first row (a generator's body would
    only run when the response is already under way)."""
    scope = required_scope(p, Action.overdue_read)
    check_filters(ctx.rules, department=department, region=region, clock=clock, category=category)
    s = ctx.settings
    now = now or ctx.now()
    window: dict[str, Any] = {"now": now}
    if within:
        window = {"now": horizon(now, within, s), "due_from": now}
    return _overdue_stream(
        ctx,
        now,
        dict(
            department=department,
            region=region,
            clock=clock,
            category=category,
            where=task_clause(p, scope),
            limit=limit,
            **window,
        ),
    )


def _overdue_stream(ctx: Context, now: datetime, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    s = ctx.settings
    with ctx.session() as session:
        for r in queries.iter_overdue_tasks(session=session, **query):
            # The session's identity map holds rows weakly: what was yielded is freed.
            yield _overdue_dict(r, now, s)


def overdue_csv(rows: Iterator[dict[str, Any]], chunk: int = 500) -> Iterator[str]:
    """CSV text for spreadsheets (header, then CSV_FIELDS of each row), in chunks."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
        if n % chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _overdue_dict(r: queries.OverdueRow, now: datetime, s: Settings) -> dict[str, Any]:
    due = r.deadline.due_at
    assert due is not None  # running clocks always have a due time
    left, text = time_left(due, now, r.deadline.mode, s)
    return {
        "task": r.task.task_id,
        "case": r.case.case_id,
        "category": r.case.category,
        "department": r.task.department,
        "region": r.task.region,
        "office_name": r.task.office_name,
        "status": r.task.status,
        "clock": r.deadline.clock,
        "clock_label": r.deadline.label,
        "due_at": iso(due, s),
        "late_seconds": int((now - due).total_seconds()),
        "late": late_text(now - due) if now > due else "",
        "working_time": text,
        "rungs_fired": [
            e["key"]
            for e in json.loads(r.deadline.detail or "{}").get("events", [])
            if e.get("kind") == "breach" and e.get("fired_at")
        ],
    }


def returns(
    ctx: Context,
    p: Principal,
    *,
    since: datetime | None = None,
    department: str | None = None,
) -> list[dict[str, Any]]:
    scope = required_scope(p, Action.returns_read)
    check_filters(ctx.rules, department=department)
    with ctx.session() as session:
        rows = queries.returns_by_office(
            session=session, since=since, department=department, where=task_clause(p, scope)
        )
    return [
        {
            "department": r.department,
            "region": r.region,
            "office_name": r.office_name,
            "returns": r.returns,
            "designated_to": r.designated_to,
            "last_at": iso(r.last_at, ctx.settings),
        }
        for r in rows
    ]


def _case_clock(ctx: Context, due: datetime | None, period: str, now: datetime) -> dict[str, Any]:
    """A case clock's due time, and time left or how late, in the clock's own terms."""
    if due is None:
        return {"due_at": None, "late": False, "left": ""}
    _, text = time_left(due, now, mode_for(period), ctx.settings)
    return {"due_at": iso(due, ctx.settings), "late": now > due, "left": text}


def _moment(text: str | None) -> datetime | None:
    """A time from a clock's JSON ledger (stored in UTC), to show in the local zone."""
    return datetime.fromisoformat(text) if text else None


def _plan_period(ctx: Context, plan: str | None, which: str) -> str:
    found = ctx.rules.plans.get(plan or "")
    return str(getattr(found, which)) if found else "1wd"


def review_queue(
    ctx: Context, p: Principal, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Cases in dispatch review (派单异议审核), waiting for a designation, with what was
    returned and the review clock, the most urgent first."""
    scope = required_scope(p, Action.queue_review)
    now = now or ctx.now()
    with ctx.session() as session:
        cases = queries.cases_in_review(session=session, where=case_task_clause(p, scope))
        out = []
        for c in cases:
            events = queries.case_events(session=session, case_id=c.case_id)
            out.append(
                {
                    "case": c.case_id,
                    "category": c.category,
                    "summary": masked_summary(c),
                    "opened_at": iso(c.opened_at, ctx.settings),
                    **_case_clock(ctx, c.review_due, _plan_period(ctx, c.sla_plan, "review"), now),
                    "returns": [
                        {"task": e.task_id, "by": e.actor, "reason": e.detail}
                        for e in events
                        if e.action == "returned"
                    ],
                }
            )
    return out


def extension_queue(
    ctx: Context, p: Principal, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Extension requests (延期申请) waiting for a supervisor's decision, soonest due first."""
    scope = required_scope(p, Action.queue_extensions)
    s = ctx.settings
    now = now or ctx.now()
    with ctx.session() as session:
        rows = queries.pending_extensions(session=session, where=task_clause(p, scope))
        out = []
        for t, d in rows:
            detail = json.loads(d.detail or "{}")
            for ext in detail.get("extensions", []):
                if ext.get("status") != "pending":
                    continue
                left = time_left(d.due_at, now, d.mode, s)[1] if d.due_at else ""
                out.append(
                    {
                        "task": t.task_id,
                        "case": t.case_id,
                        "office_name": t.office_name,
                        "department": t.department,
                        "region": t.region,
                        "clock": d.clock,
                        "clock_label": d.label,
                        "due_at": iso(d.due_at, s),
                        "left": left,
                        "period": ext.get("period"),
                        "reason": ext.get("reason"),
                        "requested_by": ext.get("requested_by") or ext.get("actor"),
                        "requested_at": iso(_moment(ext.get("requested_at")), s),
                    }
                )
    return out


def callback_queue(
    ctx: Context, p: Principal, *, now: datetime | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Cases awaiting the callback (回访) with the callback clock, the soonest due first;
    the worker's identity is not in the list (the case page reveals it, audited)."""
    scope = required_scope(p, Action.queue_callbacks)
    now = now or ctx.now()
    categories = ctx.rules.categories
    with ctx.session() as session:
        rows = queries.cases_awaiting_callback(
            session=session, where=case_task_clause(p, scope), limit=limit
        )
        return [
            {
                "case": c.case_id,
                "category": c.category,
                "category_label": categories[c.category].label
                if c.category in categories
                else c.category,
                "summary": masked_summary(c),
                "reply": c.reply,
                "opened_at": iso(c.opened_at, ctx.settings),
                "urgent": c.urgent,
                **_case_clock(ctx, c.callback_due, _plan_period(ctx, c.sla_plan, "callback"), now),
            }
            for c in rows
        ]


def board_counts(ctx: Context, p: Principal) -> dict[str, int]:
    """How much waits on the supervisor's board: overdue, dispatch review, extension
    requests, callbacks (and how many of those are late)."""
    required_scope(p, Action.board_read)
    review = review_queue(ctx, p)
    callbacks = callback_queue(ctx, p)
    return {
        "overdue": len(overdue(ctx, p, limit=None)),
        "review": len(review),
        "review_late": sum(1 for r in review if r["late"]),
        "extensions": len(extension_queue(ctx, p)),
        "callbacks": len(callbacks),
        "callbacks_late": sum(1 for c in callbacks if c["late"]),
    }


def mail(ctx: Context, p: Principal, *, status: str | None = None) -> list[dict[str, Any]]:
    scope = required_scope(p, Action.mail_read)
    if status and status not in ("queued", "retrying", "sent", "failed"):
        raise BadInput(f"unknown mail status {status!r}: one of queued, retrying, sent, failed")
    with ctx.session() as session:
        where = None if p.regions is None else task_clause(p, scope)
        rows = queries.outbox(session=session, status=status, where=where)
        return [outbox_dict(m, ctx.settings) for m in rows]


async def resend_mail(ctx: Context, p: Principal, notification_id: str) -> dict[str, Any]:
    """Send a failed e-mail again, now (administrators), as `appeals mail resend` does."""
    required_scope(p, Action.mail_resend)
    s = ctx.settings
    notify = NotifyActivities(ctx.engine, SmtpSender.from_settings(s), s.mail_from, s.admin_mail)
    try:
        result = await notify.resend(notification_id)
    except UnknownMail as e:
        raise NotFound(str(e)) from e
    except ResendError as e:
        raise Conflict(str(e)) from e
    return {
        "id": result.notification_id,
        "message_id": result.message_id,
        "sent_at": iso(result.sent_at, s),
    }
