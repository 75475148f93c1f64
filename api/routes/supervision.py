"""Supervision: overdue and soon-due, returns, the board's counts, the review, extension
and callback queues, mail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth.policy import Action
from services import supervision
from services.validation import moment

router = APIRouter(prefix="/supervision", tags=["supervision"])
Filter = Annotated[str | None, Query(max_length=40)]
CSV_LIMIT = 10_000_000  # rows; far above any city's overdue list


@router.get("/overdue", dependencies=[needs(Action.overdue_read)])
def overdue(
    p: CurrentUser,
    ctx: Ctx,
    department: Filter = None,
    region: Filter = None,
    clock: Filter = None,
    category: Filter = None,
    within: Annotated[str | None, Query(max_length=8, description="e.g. 1wd: due soon")] = None,
    limit: Annotated[int, Query(ge=0, le=100000, description="0: all")] = 500,
) -> list[dict[str, Any]]:
    """Open tasks past a deadline in your scope, most overdue first (or due soon)."""
    return supervision.overdue(
        ctx,
        p,
        department=department,
        region=region,
        clock=clock,
        category=category,
        within=within,
        limit=limit or None,
    )


@router.get(
    "/overdue.csv",
    dependencies=[needs(Action.overdue_read)],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def overdue_csv(
    p: CurrentUser,
    ctx: Ctx,
    department: Filter = None,
    region: Filter = None,
    clock: Filter = None,
    category: Filter = None,
    within: Annotated[str | None, Query(max_length=8, description="e.g. 1wd: due soon")] = None,
    # Bounded so that an absurd limit is refused before the response starts, not
    # failed by the database once the stream is under way (a cut-off download).
    limit: Annotated[int, Query(ge=0, le=CSV_LIMIT, description="0: all")] = 0,
) -> StreamingResponse:
    """The same list as CSV, streamed row by row (the whole list by default): any
    length in constant memory, for spreadsheets."""
    rows = supervision.overdue_rows(
        ctx,
        p,
        department=department,
        region=region,
        clock=clock,
        category=category,
        within=within,
        limit=limit or None,
    )
    return StreamingResponse(
        supervision.overdue_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="overdue.csv"'},
    )


@router.get("/returns", dependencies=[needs(Action.returns_read)])
def returns(
    p: CurrentUser,
    ctx: Ctx,
    since: Annotated[str | None, Query(max_length=32, description="ISO date")] = None,
    department: Filter = None,
) -> list[dict[str, Any]]:
    """Returns (退单) and designations received, per office in your scope."""
    start = moment(since, field="since", tz=ctx.settings.tz) if since else None
    return supervision.returns(ctx, p, since=start, department=department)


@router.get("/board", dependencies=[needs(Action.board_read)])
def board(p: CurrentUser, ctx: Ctx) -> dict[str, int]:
    """How much waits on the supervisor's board, in your scope."""
    return supervision.board_counts(ctx, p)


@router.get("/review", dependencies=[needs(Action.queue_review)])
def review(p: CurrentUser, ctx: Ctx) -> list[dict[str, Any]]:
    """Cases in dispatch review (派单异议审核) waiting for a designation, with the review
    clock, the soonest due first."""
    return supervision.review_queue(ctx, p)


@router.get("/extensions", dependencies=[needs(Action.queue_extensions)])
def extensions(p: CurrentUser, ctx: Ctx) -> list[dict[str, Any]]:
    """Extension requests (延期申请) waiting for a decision."""
    return supervision.extension_queue(ctx, p)


@router.get("/callbacks", dependencies=[needs(Action.queue_callbacks)])
def callbacks(p: CurrentUser, ctx: Ctx) -> list[dict[str, Any]]:
    """Cases awaiting the callback (回访) with the callback clock, the soonest due first."""
    return supervision.callback_queue(ctx, p)


@router.get("/mail", dependencies=[needs(Action.mail_read)])
def mail(p: CurrentUser, ctx: Ctx, status: Filter = None) -> list[dict[str, Any]]:
    """The e-mail outbox, newest first."""
    return supervision.mail(ctx, p, status=status)
