"""The case page: summary, tasks with clocks, timeline, and the case actions the
person may take; the reveal form for those who must call the worker (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.permissions import CaseId
from auth.identity import Principal
from auth.policy import Action
from services.actions import CASE_VERBS
from services.cases import act_on_case, load_case, reveal_case, show_case
from services.context import Context
from services.errors import Forbidden, ServiceError
from services.offloop import off_loop
from services.scope import check_case
from web.forms import case_forms
from web.render import page
from web.session import Ctx, Form, Me, PageRoute, fields

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Which case actions make sense in which case status (the workflow still decides).
WHEN = {
    "withdraw": {"open", "in_review"},
    "callback": {"awaiting_callback"},
    "urge": {"open", "in_review"},
    "set-plan": {"open"},
    "proceed": {"open"},
    "designate": {"in_review"},
}


def may(p: Principal, action: Action, ctx: Context, case_id: CaseId) -> bool:
    case, tasks = load_case(ctx, case_id)
    try:
        check_case(p, action, case, tasks)
    except Forbidden:
        return False
    return True


def case_verbs(p: Principal, ctx: Context, case_id: CaseId, status: str) -> list[str]:
    case, tasks = load_case(ctx, case_id)
    out = []
    for verb, v in CASE_VERBS.items():
        if status not in WHEN.get(verb, set()):
            continue
        try:
            check_case(p, v.action, case, tasks)
        except Forbidden:
            continue
        out.append(verb)
    return out


def render_case(
    request: Request,
    ctx: Context,
    p: Principal,
    case_id: CaseId,
    *,
    data: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    data = data or show_case(ctx, p, case_id)
    verbs = case_verbs(p, ctx, case_id, data["status"])
    return page(
        request,
        "case.html",
        status,
        case=data,
        forms=case_forms(verbs, ctx.rules),
        can_reveal=may(p, Action.case_reveal, ctx, case_id),
        error=error,
        done=request.query_params.get("done"),
    )


@router.get("/cases/{case_id}")
def case_page(request: Request, ctx: Ctx, me: Me, case_id: CaseId) -> Response:
    return render_case(request, ctx, me.p, case_id)


@router.post("/cases/{case_id}/reveal")
def reveal(request: Request, ctx: Ctx, me: Me, form: Form, case_id: CaseId) -> Response:
    reason = str(form.get("reason") or "")
    try:
        data = reveal_case(ctx, me.p, case_id, reason)
    except ServiceError as e:
        if e.status in (403, 404):
            raise
        return render_case(request, ctx, me.p, case_id, error=("reveal", e.message), status=422)
    return render_case(request, ctx, me.p, case_id, data=data)


def safe_next(value: object, default: str) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return default


@router.post("/cases/{case_id}/act/{verb}")
async def act(
    request: Request, ctx: Ctx, me: Me, form: Form, case_id: CaseId, verb: str
) -> Response:
    body = fields(form, drop=("next",))
    key = body.pop("action_key", None)  # the rendered form's own (web/render.action_key)
    try:
        # Answered once the read model shows the action (services/projected.py).
        await act_on_case(ctx, me.p, case_id, verb, body, key=key)
    except ServiceError as e:
        if e.status in (403, 404):
            raise
        error = (verb, e.message)
        return await off_loop(
            render_case, request, ctx, me.p, case_id, error=error, status=e.status
        )
    target = safe_next(form.get("next"), f"/cases/{case_id}")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={verb}", status_code=303)
