"""Staff, the rules' decision for given facts, rules reload, and the SLA calendar."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth.policy import Action
from models.common import Occupation
from services import directory, supervision

router = APIRouter(tags=["directory"])
Filter = Annotated[str | None, Query(max_length=40)]
Place = Annotated[str, Query(max_length=12)]


@router.get("/staff", dependencies=[needs(Action.staff_read)])
def staff(
    p: CurrentUser, ctx: Ctx, department: Filter = None, region: Filter = None, role: Filter = None
) -> list[dict[str, Any]]:
    """The staff directory: who may act where."""
    return directory.staff(ctx, p, department=department, region=region, role=role)


@router.get("/rules/explain", dependencies=[needs(Action.rules_explain)])
def explain(
    p: CurrentUser,
    ctx: Ctx,
    category: Annotated[str, Query(max_length=40)],
    occupation: Occupation,
    residence: Place,
    workplace: Place,
    incident: Annotated[str | None, Query(max_length=12)] = None,
    platform: Filter = None,
    summary: Annotated[str, Query(max_length=2000)] = "",
    sla_plan: Filter = None,
) -> dict[str, Any]:
    """The routing decision for these facts, without opening a case."""
    facts: dict[str, Any] = {
        "category": category,
        "occupation": occupation,
        "residence": residence,
        "workplace": workplace,
        "incident": incident,
        "platform": platform,
        "summary": summary,
        "sla_plan": sla_plan,
    }
    return directory.explain(ctx, p, facts)


@router.post("/rules/reload", dependencies=[needs(Action.rules_reload)])
def reload(p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """Check the rules directory and reload it (administrators)."""
    return directory.reload_rules(ctx, p)


@router.post("/mail/{notification_id}/resend", dependencies=[needs(Action.mail_resend)])
async def resend_mail(
    p: CurrentUser, ctx: Ctx, notification_id: Annotated[str, Path(max_length=120)]
) -> dict[str, Any]:
    """Send a failed e-mail again, now, to the recipients that do not have it (administrators)."""
    return await supervision.resend_mail(ctx, p, notification_id)


@router.get("/sla/due", dependencies=[needs(Action.sla_due)])
def sla_due(
    p: CurrentUser,
    ctx: Ctx,
    start: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=8)],
) -> dict[str, Any]:
    """The deadline of a period started at ``start`` on the working-day calendar."""
    return directory.sla_due(ctx, p, start=start, period=period)
