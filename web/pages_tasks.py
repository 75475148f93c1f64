"""The handler's inbox and the task page: clocks, the case's matter, an action form
for each verb the person may use, the timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.permissions import TaskId
from auth.identity import Principal
from auth.policy import Action, Role
from services.cases import reveal_case
from services.context import Context
from services.errors import ServiceError
from services.offloop import off_loop
from services.tasks import act_on_task, list_tasks, show_task
from web.forms import task_forms
from web.pages_cases import may, safe_next
from web.render import page
from web.session import Ctx, Form, Me, PageRoute, fields

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# The task statuses in which a verb makes sense (the workflow still decides), and the
# verb each status leads with; the others are folded away so the page stays short.
WHEN = {
    "accept": {"dispatched"},
    "complete": {"accepted"},
    "request-info": {"accepted"},
    "provide-info": {"waiting_on_worker"},
    "extend": {"accepted", "waiting_on_worker"},
}
LEADING = {"dispatched": {"accept"}, "accepted": {"complete"}, "waiting_on_worker": set()}
ALWAYS_OPEN = {"liaison-reply", "external-reply", "provide-info"}


def offered(verbs: list[str], status: str) -> tuple[list[str], set[str]]:
    """The verbs to show for a task in ``status``, and those shown unfolded."""
    shown = [v for v in verbs if status in WHEN.get(v, {status})]
    return shown, {v for v in shown if v in LEADING.get(status, set()) | ALWAYS_OPEN}


@router.get("/inbox")
def inbox(request: Request, ctx: Ctx, me: Me) -> Response:
    tasks = list_tasks(ctx, me.p, open_only=True, order="due")
    return page(request, "inbox.html", tasks=tasks)


def render_task(
    request: Request,
    ctx: Context,
    p: Principal,
    task_id: TaskId,
    *,
    worker: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    data = show_task(ctx, p, task_id)
    clocks = [(c, d["label"]) for c, d in data["deadlines"].items()]
    # A liaison never reads the case; only those the policy lets call the worker reveal.
    can_reveal = p.role is not Role.liaison and may(p, Action.case_reveal, ctx, data["case_id"])
    can_read_case = p.role is not Role.liaison and may(p, Action.case_read, ctx, data["case_id"])
    shown, unfolded = offered(data["verbs"], data["status"])
    return page(
        request,
        "task.html",
        status,
        task=data,
        forms=task_forms(shown, ctx.rules, clocks),
        unfolded=unfolded,
        can_reveal=can_reveal,
        can_read_case=can_read_case,
        worker=worker,
        error=error,
        done=request.query_params.get("done"),
    )


@router.get("/tasks/{task_id}")
def task_page(request: Request, ctx: Ctx, me: Me, task_id: TaskId) -> Response:
    return render_task(request, ctx, me.p, task_id)


@router.post("/tasks/{task_id}/act/{verb}")
async def act(
    request: Request, ctx: Ctx, me: Me, form: Form, task_id: TaskId, verb: str
) -> Response:
    body = fields(form, drop=("next",))
    key = body.pop("action_key", None)  # the rendered form's own (web/render.action_key)
    try:
        # Answered once the read model shows the action (services/projected.py), so
        # the page it redirects to shows it.
        await act_on_task(ctx, me.p, task_id, verb, body, key=key)
    except ServiceError as e:
        if e.status in (403, 404):
            raise
        error = (verb, e.message)
        return await off_loop(
            render_task, request, ctx, me.p, task_id, error=error, status=e.status
        )
    target = safe_next(form.get("next"), f"/tasks/{task_id}")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={verb}", status_code=303)


@router.post("/tasks/{task_id}/reveal")
def reveal(request: Request, ctx: Ctx, me: Me, form: Form, task_id: TaskId) -> Response:
    data = show_task(ctx, me.p, task_id)
    try:
        case = reveal_case(ctx, me.p, data["case_id"], str(form.get("reason") or ""))
    except ServiceError as e:
        if e.status in (403, 404):
            raise
        return render_task(request, ctx, me.p, task_id, error=("reveal", e.message), status=422)
    return render_task(request, ctx, me.p, task_id, worker=case["worker"])
