"""The supervisors' figures: one GROUP BY over ``task_figures``, and the drill-down to
the tasks behind any number. Called by services.reports (API, web, CLI) and by the
scheduled digests; the caller passes the reader's scope as a SQL clause.

Every task is counted in the period it was received (``received_day``, local time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, true
from sqlmodel import Session, col

from db.tables import CaseRow, TaskFigureRow
from reports.formulas import hours, nearest_rank, rate

F = TaskFigureRow


class Dimension(StrEnum):
    office = "office"
    department = "department"
    region = "region"
    category = "category"
    platform = "platform"


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"


DIMENSION_COLUMN: dict[Dimension, Any] = {
    Dimension.office: col(F.office_id),
    Dimension.department: col(F.department),
    Dimension.region: col(F.region),
    Dimension.category: col(F.category),
    Dimension.platform: func.coalesce(col(F.platform), ""),
}
PERIOD_COLUMN: dict[Period, Any] = {
    Period.day: col(F.received_day),
    Period.week: col(F.received_week),
    Period.month: col(F.received_month),
}


def _flag(cond: ColumnElement[bool]) -> Any:
    # COUNT(*) FILTER (WHERE …): SQLite ≥ 3.30 and PostgreSQL both have it, and it is
    # cheaper per row than SUM(CASE …) over a million rows.
    return func.count().filter(cond)


# Each counted figure: its name and the condition a task meets to be counted in it.
# The drill-down lists the tasks meeting the same condition, so a number and its list
# can never disagree.
METRICS: dict[str, ColumnElement[bool]] = {
    "received": true(),
    "sign_due": col(F.sign_state).is_not(None),
    "signed_on_time": col(F.sign_state) == "on_time",
    "reply_due": col(F.reply_state).is_not(None),
    "replied_on_time": col(F.reply_state) == "on_time",
    "replies": col(F.outcome).is_not(None),
    "resolved": col(F.outcome) == "resolved",
    "callbacks": col(F.callback).in_(("satisfied", "unsatisfied")),
    "satisfied": col(F.callback) == "satisfied",
    "returns_given": col(F.returned).is_(True),
    "returns_received": col(F.origin) == "return",
    "wrongful_returns": col(F.wrongful_return).is_(True),
    "transfers_given": col(F.transferred).is_(True),
    "transfers_received": col(F.origin) == "transfer",
    "designations_received": col(F.origin) == "designation",
    "rung_1": col(F.max_rung) >= 1,
    "rung_2": col(F.max_rung) >= 2,
    "rung_3": col(F.max_rung) >= 3,
    "extensions_asked": col(F.extensions_asked) > 0,
    "extensions_granted": col(F.extensions_granted) > 0,
    "signed": col(F.sign_minutes).is_not(None),
    "replied": col(F.reply_minutes).is_not(None),
}
# Figures that add up a count per task rather than count tasks.
SUMMED = {
    "extensions_asked": col(F.extensions_asked),
    "extensions_granted": col(F.extensions_granted),
}
# The rate a drill-down of a rate shows: its numerator's tasks among its denominator's.
RATES = {
    "sign_rate": ("signed_on_time", "sign_due"),
    "on_time_rate": ("replied_on_time", "reply_due"),
    "resolution_rate": ("resolved", "replies"),
    "satisfaction_rate": ("satisfied", "callbacks"),
}
DURATIONS = {"sign": col(F.sign_minutes), "reply": col(F.reply_minutes)}
DURATION_COUNTS = {"sign": "signed", "reply": "replied"}  # how many values each has


@dataclass
class FigureRow:
    """One group's figures (one office, say, in one week)."""

    key: str
    label: str
    period: date | None
    counts: dict[str, int] = field(default_factory=dict)
    minutes: dict[str, int | None] = field(default_factory=dict)  # sign_p50, reply_p90, ...

    def rate(self, name: str) -> float | None:
        numerator, denominator = RATES[name]
        return rate(self.counts.get(numerator, 0), self.counts.get(denominator, 0))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "period": self.period.isoformat() if self.period else None,
        }
        out.update(self.counts)
        out.update({r: self.rate(r) for r in RATES})
        out.update({f"{k}_hours": hours(v) for k, v in self.minutes.items()})
        return out


@dataclass(frozen=True)
class Window:
    """Local days ``start`` … ``end`` (both included), optionally split by ``period``."""

    start: date
    end: date
    period: Period | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")

    def clause(self) -> ColumnElement[bool]:
        return and_(col(F.received_day) >= self.start, col(F.received_day) <= self.end)


def not_repeat() -> ColumnElement[bool]:
    """A case linked as a repeat of another (``cases.repeat_of``) counts once: through
    the case it repeats, so its own tasks are left out."""
    repeats = select(col(CaseRow.case_id)).where(col(CaseRow.repeat_of).is_not(None))
    return col(F.case_id).not_in(repeats)


def scope_clause(
    *, regions: Sequence[str] | None = None, office: str | None = None
) -> ColumnElement[bool]:
    """The tasks of ``office``, or of ``regions`` (None: everywhere): for callers with no
    principal, such as a digest to one district's supervisors."""
    clause: ColumnElement[bool] = true()
    if regions is not None:
        clause = and_(clause, col(F.region).in_(sorted(regions)))
    if office is not None:
        clause = and_(clause, col(F.office_id) == office)
    return clause


def figures(
    *,
    session: Session,
    by: Dimension,
    window: Window,
    where: ColumnElement[bool] | None = None,
    labels: Callable[[Dimension, str], str] | None = None,
) -> list[FigureRow]:
    """Every figure for each group of ``by`` (and period of ``window``), in scope.

    Two statements: one GROUP BY for the counts, one window-function pass for the
    nearest-rank median and p90 of the working-hour durations.
    """
    key = DIMENSION_COLUMN[by]
    bucket = PERIOD_COLUMN[window.period] if window.period else literal(None)
    filters = and_(window.clause(), not_repeat(), where if where is not None else true())
    columns = [
        func.sum(SUMMED[name]).label(name) if name in SUMMED else _flag(cond).label(name)
        for name, cond in METRICS.items()
    ]
    stmt = (
        select(key.label("key"), bucket.label("bucket"), func.max(col(F.office_name)), *columns)
        .where(filters)
        .group_by(key, bucket)
    )
    rows: dict[tuple[str, date | None], FigureRow] = {}
    for r in session.execute(stmt):
        k, b, office_name = r[0], _as_date(r[1]), r[2]
        if by is Dimension.office:
            label = office_name
        else:
            label = labels(by, k) if labels else k
        counts = {name: int(v or 0) for name, v in zip(METRICS, r[3:], strict=True)}
        rows[(k, b)] = FigureRow(key=k, label=label, period=b, counts=counts)
    for name, minutes in DURATIONS.items():
        sizes = {g: r.counts[DURATION_COUNTS[name]] for g, r in rows.items()}
        for (k, b), values in _percentiles(session, key, bucket, minutes, filters, sizes).items():
            rows[(k, b)].minutes.update(
                {f"{name}_p50": values.get(50), f"{name}_p90": values.get(90)}
            )
    for row in rows.values():
        for name in DURATIONS:
            row.minutes.setdefault(f"{name}_p50", None)
            row.minutes.setdefault(f"{name}_p90", None)
    return sorted(rows.values(), key=lambda r: (r.period or date.min, r.label, r.key))


def _percentiles(
    session: Session,
    key: Any,
    bucket: Any,
    minutes: Any,
    filters: ColumnElement[bool],
    sizes: dict[tuple[str, date | None], int],
) -> dict[tuple[str, date | None], dict[int, int]]:
    """Nearest-rank p50 and p90 of ``minutes`` per group, in SQL (SQLite ≥ 3.25 and
    PostgreSQL both have window functions; neither has a portable percentile).

    ``sizes`` (each group's count of values, from the counts query) gives the ranks, so
    one ROW_NUMBER pass does: the rows at any group's wanted rank come back (a few
    thousand at most) and each group keeps its own.
    """
    wanted = {g: {p: nearest_rank(n, p) for p in (50, 90)} for g, n in sizes.items() if n}
    if not wanted:
        return {}
    ranks = sorted({r for by_p in wanted.values() for r in by_p.values()})
    ranked = (
        select(
            key.label("k"),
            bucket.label("b"),
            minutes.label("m"),
            func.row_number().over(partition_by=[key, bucket], order_by=minutes).label("rn"),
        )
        .where(filters, minutes.is_not(None))
        .subquery()
    )
    stmt = select(ranked.c.k, ranked.c.b, ranked.c.m, ranked.c.rn).where(ranked.c.rn.in_(ranks))
    out: dict[tuple[str, date | None], dict[int, int]] = {}
    for k, b, m, rn in session.execute(stmt):
        group = (k, _as_date(b))
        for p, rank in wanted.get(group, {}).items():
            if rn == rank:
                out.setdefault(group, {})[p] = int(m)
    return out


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))  # SQLite hands back a literal's text


@dataclass(frozen=True)
class DrillRow:
    task_id: str
    case_id: str
    office_id: str
    office_name: str
    role: str
    status: str
    received_at: datetime
    origin: str
    sign_state: str | None
    reply_state: str | None
    sign_hours: float | None
    reply_hours: float | None
    outcome: str | None
    callback: str | None
    max_rung: int
    extensions_asked: int
    extensions_granted: int


def drill_condition(metric: str) -> ColumnElement[bool]:
    """The condition of a figure, or of a rate's denominator (its tasks are listed with
    the numerator's marked by their states)."""
    if metric in RATES:
        metric = RATES[metric][1]
    if metric not in METRICS:
        raise KeyError(metric)
    return METRICS[metric]


def bucket_window(window: Window, bucket: date | None) -> Window:
    """The days of one period of ``window`` (one row of a split report)."""
    if bucket is None or window.period is None:
        return window
    if window.period is Period.day:
        end = bucket
    elif window.period is Period.week:
        end = bucket + timedelta(days=6)
    else:
        end = (bucket.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return Window(max(bucket, window.start), min(end, window.end))


def drill(
    *,
    session: Session,
    by: Dimension,
    key: str,
    metric: str,
    window: Window,
    where: ColumnElement[bool] | None = None,
    limit: int = 500,
    offset: int = 0,
) -> tuple[int, list[DrillRow]]:
    """The tasks behind one number: (how many, a page of them, newest first)."""
    filters = and_(
        window.clause(),
        not_repeat(),
        DIMENSION_COLUMN[by] == key,
        drill_condition(metric),
        where if where is not None else true(),
    )
    total = session.execute(select(func.count()).select_from(F).where(filters)).scalar_one()
    stmt = (
        select(F)
        .where(filters)
        .order_by(col(F.received_at).desc(), col(F.task_id))
        .limit(limit)
        .offset(offset)
    )
    rows = [
        DrillRow(
            task_id=f.task_id,
            case_id=f.case_id,
            office_id=f.office_id,
            office_name=f.office_name,
            role=f.role,
            status=f.status,
            received_at=f.received_at,
            origin=f.origin,
            sign_state=f.sign_state,
            reply_state=f.reply_state,
            sign_hours=hours(f.sign_minutes),
            reply_hours=hours(f.reply_minutes),
            outcome=f.outcome,
            callback=f.callback,
            max_rung=f.max_rung,
            extensions_asked=f.extensions_asked,
            extensions_granted=f.extensions_granted,
        )
        for f in session.scalars(stmt)
    ]
    return int(total), rows


def totals(rows: Sequence[FigureRow], label: str = "合计") -> list[FigureRow]:
    """The groups' counts added up per period (a scope's trend). Percentiles do not add
    up, so a total has none."""
    out: dict[date | None, FigureRow] = {}
    for r in rows:
        total = out.setdefault(r.period, FigureRow(key="", label=label, period=r.period))
        for name, value in r.counts.items():
            total.counts[name] = total.counts.get(name, 0) + value
    return [out[k] for k in sorted(out, key=lambda d: d or date.min)]
