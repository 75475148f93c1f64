"""Tasks: list in scope, show, and the task actions (accept, note, complete, …)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import Ctx, CurrentUser, IdempotencyKey
from api.permissions import TaskId, needs, on_task
from auth.policy import Action
from models.tasks import ActionAnswer
from services import tasks
from services.actions import TASK_VERBS, Body, Verb

router = APIRouter(prefix="/tasks", tags=["tasks"])
Filter = Annotated[str | None, Query(max_length=40)]


@router.get("", dependencies=[needs(Action.task_read)])
def list_tasks(
    p: CurrentUser,
    ctx: Ctx,
    department: Filter = None,
    region: Filter = None,
    status: Filter = None,
    open: bool = False,
    order: Literal["newest", "due"] = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """The tasks in your scope: your office's, your region's, or your platform's."""
    return tasks.list_tasks(
        ctx,
        p,
        department=department,
        region=region,
        status=status,
        open_only=open,
        order=order,
        limit=limit,
    )


@router.get("/{task_id}", dependencies=[on_task(Action.task_read)])
def show_task(task_id: TaskId, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """One task, its clocks, the actions you may take on it, and the timeline."""
    return tasks.show_task(ctx, p, task_id)


def _task_action(verb: str, v: Verb) -> None:
    async def endpoint(
        task_id: TaskId, body: Body, p: CurrentUser, ctx: Ctx, key: IdempotencyKey = None
    ) -> ActionAnswer:
        return await tasks.act_on_task(ctx, p, task_id, verb, body.model_dump(), key=key)

    endpoint.__annotations__["body"] = v.body  # the verb's own schema in OpenAPI
    endpoint.__name__ = f"task_{verb.replace('-', '_')}"
    router.add_api_route(
        f"/{{task_id}}/{verb}",
        endpoint,
        methods=["POST"],
        response_model=ActionAnswer,
        summary=f"{verb} ({v.action.value})",
        dependencies=[on_task(v.action)],
    )


for _verb, _v in TASK_VERBS.items():
    _task_action(_verb, _v)
