"""The clerk's screens: the intake form (受理) and the callback queue (回访)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from auth.policy import Action
from routing_rules import addresses
from services.cases import intake, preview_repeats
from services.context import Context
from services.errors import ServiceError
from services.offloop import off_loop
from services.places import PlaceChoice
from services.scope import required_scope
from services.supervision import callback_queue
from web import labels
from web.forms import case_forms
from web.regions import Option, region_groups
from web.render import page
from web.session import Ctx, Form, Me, PageRoute, fields

router = APIRouter(route_class=PageRoute, include_in_schema=False)

INTAKE_FIELDS = (
    "name",
    "phone",
    "id_number",
    "occupation",
    "platform",
    "category",
    "summary",
    "residence",
    "workplace",
    "incident",
    "workplace_address",
    "incident_address",
    "channel",
    "urgent",
    "request_id",
    "sla_plan",
)


def choices(ctx: Context) -> dict[str, Any]:
    rules = ctx.rules
    return {
        "regions": region_groups(rules),
        "categories": [Option(c.code, c.label) for c in rules.categories.values()],
        "occupations": [Option(k, v) for k, v in labels.OCCUPATIONS.items()],
        "platforms": [Option(p.code, p.name) for p in rules.platforms.values()],
        "channels": [Option(k, v) for k, v in labels.CHANNELS.items()],
        "plans": [Option(n, f"{p.label}（{n}）") for n, p in rules.plans.items()],
    }


def _form_page(
    request: Request,
    ctx: Context,
    values: dict[str, Any],
    error: str | None,
    status: int = 200,
    choice: dict[str, Any] | None = None,
    repeats: list[dict[str, Any]] | None = None,
) -> Response:
    return page(
        request,
        "intake.html",
        status,
        v=values,
        error=error,
        choice=choice,
        repeats=repeats,
        **choices(ctx),
    )


@router.get("/cases/new")
def intake_form(request: Request, ctx: Ctx, me: Me) -> Response:
    required_scope(me.p, Action.case_open)
    # A fresh request id per rendered form: submitting it twice opens one case.
    values = {"request_id": uuid.uuid4().hex, "channel": "hotline"}
    return _form_page(request, ctx, values, None)


@router.post("/cases/new")
async def intake_submit(request: Request, ctx: Ctx, me: Me, form: Form) -> Response:
    given = fields(form)
    values = {k: v for k, v in given.items() if k in INTAKE_FIELDS}
    body: dict[str, Any] = dict(values)
    body["urgent"] = "urgent" in body
    # 重复来电: the clerk's choice, once the form has shown the matches.
    repeat_choice = given.get("repeat_choice")
    if repeat_choice == "none":
        body["not_repeat"] = True
    elif repeat_choice:
        body["repeat_of"] = repeat_choice
    try:
        if repeat_choice is None:
            matches = await off_loop(preview_repeats, ctx, me.p, body)
            if matches:
                note = "该劳动者已有同类诉求：请选择并入（或关联）已有案件，或另立新案。"
                return _form_page(request, ctx, values, note, 409, repeats=matches)
        opened = await intake(ctx, me.p, body)
    except PlaceChoice as e:
        # Not an error of the clerk's: the address needs their choice (or confirmation).
        extra: dict[str, Any] = dict(e.extra or {})
        if extra["reason"] == addresses.ONLY_CITY:
            # Our own city named alone: the district picker is the choice.
            extra["candidates"] = [c for c in extra["candidates"] if not c["internal"]]
        extra["why"] = labels.place_reason(extra.get("reason"), bool(extra.get("candidates")))
        return _form_page(request, ctx, values, None, 422, choice={str(extra["field"]): extra})
    except ServiceError as e:
        if e.status == 403:
            raise
        values.setdefault("request_id", uuid.uuid4().hex)
        return _form_page(request, ctx, values, e.message, e.status)
    return RedirectResponse(f"/cases/{opened.case_id}", status_code=303)


@router.get("/callbacks")
def callbacks(request: Request, ctx: Ctx, me: Me) -> Response:
    queue = callback_queue(ctx, me.p)
    form = case_forms(["callback"], ctx.rules)[0]
    return page(request, "callbacks.html", queue=queue, form=form)
