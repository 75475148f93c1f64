"""The platform liaison's page (政企协同): their platform's liaison tasks and a reply
form; the services give a liaison no personal data and no case page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.tasks import list_tasks
from web.forms import task_forms
from web.render import page
from web.session import Ctx, Me, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/platform")
def platform(request: Request, ctx: Ctx, me: Me) -> Response:
    tasks = list_tasks(ctx, me.p, order="due")
    name = ctx.rules.platforms[me.p.platform].name if me.p.platform in ctx.rules.platforms else ""
    reply = task_forms(["liaison-reply"], ctx.rules, [])[0]
    return page(
        request,
        "platform.html",
        tasks=tasks,
        platform_name=name,
        reply=reply,
        done=request.query_params.get("done"),
    )
