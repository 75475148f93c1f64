"""The supervisors' figures and their drill-down, in the reader's scope (SQL).

A city supervisor reads every office, a district's supervisor the offices in their
district, an office head their own office (auth.policy: ``report.read``,
``report.drill``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col

from auth.identity import Principal
from auth.policy import Action, Scope
from db.tables import TaskFigureRow
from reports.figures import (
    RATES,
    Dimension,
    Period,
    Window,
    bucket_window,
    drill,
    figures,
    totals,
)
from reports.labels import directory_labels
from services.context import Context
from services.errors import BadInput
from services.scope import required_scope
from services.views import iso

DEFAULT_DAYS = 28  # four weeks up to today, when no --from is given


def figure_clause(p: Principal, scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on ``task_figures`` for the tasks in ``p``'s scope (as
    services.scope.task_clause on ``tasks``)."""
    if scope is Scope.any or (scope is Scope.region and p.regions is None):
        return true()
    if scope is Scope.region:
        assert p.regions is not None
        return col(TaskFigureRow.region).in_(sorted(p.regions))
    if scope is Scope.office:
        return col(TaskFigureRow.office_id) == p.office if p.office else false()
    return false()


def dimension(text: str) -> Dimension:
    try:
        return Dimension(text)
    except ValueError:
        raise BadInput(
            f"by {text[:40]!r} is not one of {', '.join(d.value for d in Dimension)}"
        ) from None


def period_of(text: str | None) -> Period | None:
    if not text:
        return None
    try:
        return Period(text)
    except ValueError:
        raise BadInput(
            f"period {text[:40]!r} is not one of {', '.join(p.value for p in Period)}"
        ) from None


def day(text: str, *, field: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{field} {text[:40]!r} is not a date like 2026-11-01") from None
    if not 1970 <= value.year <= 2100:
        raise BadInput(f"{field} must lie between 1970 and 2100")
    return value


def window_of(ctx: Context, start: str | None, end: str | None, period: str | None) -> Window:
    """Local days from ``start`` to ``end`` (both included); by default the four weeks
    up to today."""
    today = datetime.now(ctx.settings.tz).date()
    last = day(end, field="to") if end else today
    first = day(start, field="from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise BadInput(f"to {last} is before from {first}")
    if (last - first).days > 3660:
        raise BadInput("a report covers ten years at most")
    return Window(first, last, period_of(period))


def report(
    ctx: Context,
    p: Principal,
    *,
    by: str,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
) -> dict[str, Any]:
    """Every figure per group of ``by`` (and period), in ``p``'s scope."""
    scope = required_scope(p, Action.report_read)
    dim = dimension(by)
    window = window_of(ctx, start, end, period)
    with ctx.session() as session:
        rows = figures(
            session=session,
            by=dim,
            window=window,
            where=figure_clause(p, scope),
            labels=directory_labels(ctx.rules),
        )
    return {
        "by": dim.value,
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "period": window.period.value if window.period else None,
        "rows": [r.as_dict() for r in rows],
    }


def tasks_behind(
    ctx: Context,
    p: Principal,
    *,
    by: str,
    key: str,
    metric: str,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    bucket: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> dict[str, Any]:
    """The tasks one number of a report counts (a rate: its denominator's tasks), in
    ``p``'s scope, newest first."""
    scope = required_scope(p, Action.report_drill)
    dim = dimension(by)
    window = window_of(ctx, start, end, period)
    if bucket:
        window = bucket_window(window, day(bucket, field="bucket"))
    with ctx.session() as session:
        try:
            total, rows = drill(
                session=session,
                by=dim,
                key=key,
                metric=metric,
                window=window,
                where=figure_clause(p, scope),
                limit=limit,
                offset=offset,
            )
        except KeyError:
            raise BadInput(f"metric {metric[:40]!r} is not a figure of the report") from None
    labels = directory_labels(ctx.rules)
    office = ctx.rules.offices.get(key) if dim is Dimension.office else None
    return {
        "by": dim.value,
        "key": key,
        "label": office.name if office else labels(dim, key),
        "metric": metric,
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "total": total,
        "tasks": [
            {
                "task": r.task_id,
                "case": r.case_id,
                "office": r.office_id,
                "office_name": r.office_name,
                "role": r.role,
                "status": r.status,
                "received_at": iso(r.received_at, ctx.settings),
                "origin": r.origin,
                "sign": r.sign_state,
                "reply": r.reply_state,
                "sign_hours": r.sign_hours,
                "reply_hours": r.reply_hours,
                "outcome": r.outcome,
                "callback": r.callback,
                "rung": r.max_rung,
                "extensions_asked": r.extensions_asked,
                "extensions_granted": r.extensions_granted,
            }
            for r in rows
        ],
    }


def weekly_trend(ctx: Context, p: Principal, *, end: date, weeks: int = 12) -> list[dict[str, Any]]:
    """The four rates of everything in ``p``'s scope, week by week, for the ``weeks``
    whole weeks (Monday to Sunday) up to the one holding ``end``."""
    scope = required_scope(p, Action.report_read)
    last_monday = end - timedelta(days=end.weekday())
    window = Window(last_monday - timedelta(weeks=weeks - 1), end, Period.week)
    with ctx.session() as session:
        rows = figures(
            session=session, by=Dimension.office, window=window, where=figure_clause(p, scope)
        )
    by_week = {t.period: t for t in totals(rows)}
    out = []
    for n in range(weeks):  # every week, an empty one too: a gap in the line says so
        monday = window.start + timedelta(weeks=n)
        t = by_week.get(monday)
        out.append(
            {
                "week": monday.isoformat(),
                "received": t.counts.get("received", 0) if t else 0,
                **{name: t.rate(name) if t else None for name in RATES},
            }
        )
    return out
