"""Permissions declared where routes are declared (as in Netflix/dispatch): each route
names the action it needs, and the check runs before the body is even validated, so an
outsider learns nothing from a 422. The services check again: the web screens call them
directly, and a check that is cheap is better done twice than forgotten once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path

from api.deps import Ctx, CurrentUser
from auth.policy import Action
from services.cases import load_case
from services.scope import check_case, check_task, required_scope
from services.tasks import load_task

CaseId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
TaskId = Annotated[str, Path(max_length=48, pattern=r"^[A-Za-z0-9-]+$")]


def needs(action: Action) -> Any:
    """The person's role may do ``action`` somewhere (lists filter by scope in SQL)."""

    def check(p: CurrentUser) -> None:
        required_scope(p, action)

    return Depends(check)


def on_task(action: Action) -> Any:
    """The person may do ``action`` on this task (role and scope)."""

    def check(task_id: TaskId, p: CurrentUser, ctx: Ctx) -> None:
        required_scope(p, action)  # refuse by role before revealing whether it exists
        task, _ = load_task(ctx, task_id)
        check_task(p, action, task)

    return Depends(check)


def on_case(action: Action) -> Any:
    """The person may do ``action`` on this case (role and scope)."""

    def check(case_id: CaseId, p: CurrentUser, ctx: Ctx) -> None:
        required_scope(p, action)
        case, tasks = load_case(ctx, case_id)
        check_case(p, action, case, tasks)

    return Depends(check)
