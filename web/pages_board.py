"""The supervisor's board (督办): overdue and soon-due tasks with filters (htmx
partial updates), cases waiting for a designation (with the review clock), extensions
waiting for a decision, cases awaiting the callback (with the callback clock), and the
returns report."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.routes.clusters import ClusterId
from auth.policy import Action
from services.clusters import designate_lead, list_clusters
from services.context import Context
from services.errors import BadInput, ServiceError
from services.filters import clock_names
from services.scope import required_scope
from services.supervision import (
    callback_queue,
    extension_queue,
    overdue,
    returns,
    review_queue,
)
from web.forms import case_forms
from web.regions import Option, region_groups
from web.render import error_page, page
from web.session import Ctx, Form, Me, PageRoute, Viewer, fields

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SOON = "1wd"


class Filters(TypedDict, total=False):
    department: str
    region: str
    clock: str
    category: str


Filter = Annotated[str | None, Query(max_length=40)]


def _filters(
    department: Filter = None,
    region: Filter = None,
    clock: Filter = None,
    category: Filter = None,
) -> Filters:
    """The board's filters from the query string (a dependency of both board routes)."""
    out = Filters()
    if department:
        out["department"] = department
    if region:
        out["region"] = region
    if clock:
        out["clock"] = clock
    if category:
        out["category"] = category
    return out


Chosen = Annotated[Filters, Depends(_filters)]


def lists(ctx: Context, me: Viewer, chosen: Filters) -> dict[str, Any]:
    try:
        late = overdue(ctx, me.p, **chosen)
        soon = overdue(ctx, me.p, within=SOON, **chosen)
    except BadInput as e:
        return {"late": [], "soon": [], "filter_error": e.message}
    names = {c.code: c.label for c in ctx.rules.categories.values()}
    for row in (*late, *soon):
        row["category_label"] = names.get(row["category"], row["category"])
        row["region_name"] = ctx.rules.region_name(row["region"])
    return {"late": late, "soon": soon, "filter_error": None}


def filter_choices(ctx: Context) -> dict[str, Any]:
    rules = ctx.rules
    return {
        "departments": [Option(c, d.name) for c, d in sorted(rules.departments.items())],
        "regions": region_groups(rules),
        "clocks": [Option(c, _clock_label(ctx, c)) for c in clock_names(rules)],
        "categories": [Option(c.code, c.label) for c in rules.categories.values()],
    }


def _clock_label(ctx: Context, name: str) -> str:
    for plan in ctx.rules.plans.values():
        for clock in plan.clocks:
            if clock.name == name:
                return f"{clock.label}（{name}）"
    return name


@router.get("/board")
def board(request: Request, ctx: Ctx, me: Me, chosen: Chosen) -> Response:
    required_scope(me.p, Action.board_read)
    return page(
        request,
        "board.html",
        chosen=chosen,
        soon_window=SOON,
        review=review_queue(ctx, me.p),
        designate=case_forms(["designate"], ctx.rules)[0],
        extensions=extension_queue(ctx, me.p),
        callbacks=callback_queue(ctx, me.p),
        returns=returns(ctx, me.p),
        clusters=list_clusters(ctx, me.p),
        cluster_error=request.query_params.get("cluster_error"),
        **lists(ctx, me, chosen),
        **filter_choices(ctx),
    )


@router.get("/board/lists")
def board_lists(request: Request, ctx: Ctx, me: Me, chosen: Chosen) -> Response:
    """The two lists alone, for htmx to swap in when a filter changes."""
    required_scope(me.p, Action.board_read)
    return page(
        request, "_board_lists.html", chosen=chosen, soon_window=SOON, **lists(ctx, me, chosen)
    )


@router.post("/board/clusters/{cluster_id}/designate")
async def designate_cluster_lead(
    request: Request, ctx: Ctx, me: Me, form: Form, cluster_id: ClusterId
) -> Response:
    """联合处置 from the board: one lead office for every member of the cluster."""
    body = {k: v for k, v in fields(form).items() if k in ("department", "region", "reason")}
    try:
        await designate_lead(ctx, me.p, cluster_id, body)
    except ServiceError as e:
        if e.status == 403:
            raise
        return error_page(request, e.status, e.message)
    return RedirectResponse("/board?done=cluster-designate#clusters-h", status_code=303)
