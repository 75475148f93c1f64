"""The supervisors' figures (考核) and the tasks behind each number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth.policy import Action
from services import reports

router = APIRouter(prefix="/reports", tags=["reports"])
Day = Annotated[str | None, Query(max_length=10, description="local date, e.g. 2026-11-01")]
By = Annotated[
    str, Query(max_length=12, description="office, department, region, category, platform")
]
PeriodQ = Annotated[str | None, Query(max_length=8, description="day, week or month")]


@router.get("/figures", dependencies=[needs(Action.report_read)])
def figures(
    p: CurrentUser,
    ctx: Ctx,
    by: By = "office",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    period: PeriodQ = None,
) -> dict[str, Any]:
    """Every figure per office (department, region, category, platform) and period,
    for the tasks received from ``from`` to ``to`` (local days, both included; by
    default the last four weeks), in your scope. The README gives each formula."""
    return reports.report(ctx, p, by=by, start=start, end=end, period=period)


@router.get("/drill", dependencies=[needs(Action.report_drill)])
def drill(
    p: CurrentUser,
    ctx: Ctx,
    key: Annotated[str, Query(max_length=80, description="the group: an office id, a code")],
    metric: Annotated[str, Query(max_length=40, description="a figure, e.g. signed_on_time")],
    by: By = "office",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    period: PeriodQ = None,
    bucket: Day = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    # Bounded: an offset past any list is a 422, not the database's integer overflow.
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The tasks behind one number of the report (a rate: its denominator's tasks),
    newest first; ``bucket`` narrows to one period of a split report."""
    return reports.tasks_behind(
        ctx,
        p,
        by=by,
        key=key,
        metric=metric,
        start=start,
        end=end,
        period=period,
        bucket=bucket,
        limit=limit,
        offset=offset,
    )
