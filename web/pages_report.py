"""The supervisors' figures page (考核报表): offices ranked by each rate, the weekly
trend, breaches by rung (Apache ECharts, drawn by static/report.js from the JSON the
page carries: the CSP allows no inline script), the table, and drill-downs to tasks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from reports.columns import COLUMNS, DIMENSION_LABELS, PERIOD_LABELS, RATE_FIELDS
from reports.formulas import percent
from services.errors import BadInput
from services.reports import report, tasks_behind, weekly_trend
from web.render import page
from web.session import Ctx, Me, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Param = Annotated[str | None, Query(max_length=12)]
TREND_WEEKS = 12
RATE_LABELS = {
    "sign_rate": "签收率",
    "on_time_rate": "按时办结率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
}
# The table's columns on the page: the rates, then the counts a supervisor acts on.
PAGE_COLUMNS = (
    "received", *RATE_FIELDS, "returns_given", "returns_received", "wrongful_returns",
    "transfers_given", "transfers_received", "designations_received", "rung_1", "rung_2",
    "rung_3", "extensions_asked", "extensions_granted", "sign_p50_hours", "sign_p90_hours",
    "reply_p50_hours", "reply_p90_hours",
)  # fmt: skip
HOURS = {
    "sign_p50_hours": "signed",
    "sign_p90_hours": "signed",
    "reply_p50_hours": "replied",
    "reply_p90_hours": "replied",
}


def _shown(field: str, value: Any) -> str:
    if field in RATE_FIELDS:
        return percent(value)
    return "—" if value is None else str(value)


def _drill_href(query: dict[str, str], key: str, field: str) -> str:
    metric = HOURS.get(field, field)
    return "/report/drill?" + urlencode({**query, "key": key, "metric": metric})


@router.get("/report")
def report_page(
    request: Request,
    ctx: Ctx,
    me: Me,
    by: Param = "office",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    error = None
    try:
        data = report(ctx, me.p, by=by or "office", start=start, end=end)
    except BadInput as e:
        error = e.message
        data = report(ctx, me.p, by="office")
    rows = data["rows"]
    query = {"by": data["by"], "from": data["from"], "to": data["to"]}
    chart = {
        "rates": RATE_LABELS,
        "groups": [
            {"label": r["label"], **{k: r[k] for k in RATE_FIELDS}, "received": r["received"]}
            for r in rows
        ],
        "trend": weekly_trend(ctx, me.p, end=date.fromisoformat(data["to"]), weeks=TREND_WEEKS),
        "rungs": [
            {"label": r["label"], "rung_1": r["rung_1"], "rung_2": r["rung_2"],
             "rung_3": r["rung_3"]}
            for r in rows
        ],
    }  # fmt: skip
    headers = dict(COLUMNS)
    table = [
        {
            "label": r["label"],
            "key": r["key"],
            "cells": [
                (_shown(f, r.get(f)), _drill_href(query, r["key"], f) if r.get(f) else None)
                for f in PAGE_COLUMNS
            ],
        }
        for r in rows
    ]
    return page(
        request,
        "report.html",
        data=data,
        chart=chart,
        error=error,
        table=table,
        columns=[headers[f] for f in PAGE_COLUMNS],
        dimensions=DIMENSION_LABELS,
        group_label=DIMENSION_LABELS[data["by"]],
    )


@router.get("/report/drill")
def drill_page(
    request: Request,
    ctx: Ctx,
    me: Me,
    key: Annotated[str, Query(max_length=80)],
    metric: Annotated[str, Query(max_length=40)],
    by: Param = "office",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    period: Param = None,
    bucket: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    found = tasks_behind(
        ctx, me.p, by=by or "office", key=key, metric=metric, start=start, end=end,
        period=period, bucket=bucket, limit=500,
    )  # fmt: skip
    back = "/report?" + urlencode({"by": found["by"], "from": start or "", "to": end or ""})
    return page(
        request,
        "report_drill.html",
        found=found,
        metric_label=dict(COLUMNS).get(metric) or RATE_LABELS.get(metric, metric),
        back=back,
        periods=PERIOD_LABELS,
    )
