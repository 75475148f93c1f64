"""Tasks: the lists a person works from (in scope, in SQL), one task, and its actions."""

from __future__ import annotations

from typing import Any

from auth.identity import Principal
from auth.policy import Action, Role
from db import queries
from db.tables import CaseRow, TaskRow
from models.tasks import ActionAnswer, ActionResult, TaskStatus
from services.actions import TASK_VERBS, action_update_id, answered_from_record, check_action_key
from services.context import Context
from services.errors import Conflict, NotFound
from services.filters import check_filters, check_target_region
from services.offloop import answered_within, off_loop
from services.privacy import masked_summary
from services.projected import task_projected, written_through
from services.scope import check_task, required_scope, task_clause
from services.temporal import update
from services.views import event_dict, task_dict

OPEN = [s.value for s in TaskStatus if s.is_open]


def list_tasks(
    ctx: Context,
    p: Principal,
    *,
    department: str | None = None,
    region: str | None = None,
    status: str | None = None,
    open_only: bool = False,
    order: str = "newest",
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The tasks in the person's scope; ``order="due"`` puts the nearest deadline first."""
    scope = required_scope(p, Action.task_read)
    check_filters(ctx.rules, department=department, region=region, status=status)
    s, now = ctx.settings, ctx.now()
    with ctx.session() as session:
        rows = queries.list_tasks(
            session=session,
            department=department,
            region=region,
            status=status or (OPEN if open_only else None),
            where=task_clause(p, scope),
            order=order,
            limit=max(1, min(limit, 1000)),
        )
        deadlines = queries.task_deadlines(session=session, task_ids=[t.task_id for t, _ in rows])
        return [_row(ctx, p, t, c, task_dict(t, deadlines[t.task_id], s, now)) for t, c in rows]


def _row(ctx: Context, p: Principal, t: TaskRow, c: CaseRow, d: dict[str, Any]) -> dict[str, Any]:
    category = ctx.rules.categories.get(c.category)
    return d | {
        "category": c.category,
        "category_label": category.label if category else c.category,
        "summary": masked_summary(c),
        "urgent": c.urgent,
        "priority": max(t.priority, c.priority),
        "case_status": c.status,
    }


def load_task(ctx: Context, task_id: str) -> tuple[TaskRow, CaseRow]:
    with ctx.session() as session:
        task = queries.get_task(session=session, task_id=task_id)
        case = queries.get_case(session=session, case_id=task.case_id) if task else None
        if task is None or case is None:
            if queries.get_case(session=session, case_id=task_id) is not None:
                raise NotFound(f"{task_id} is a case, not a task: its tasks are {task_id}-T1, …")
            raise NotFound(f"unknown task {task_id!r}")
        session.expunge_all()
    return task, case


def show_task(ctx: Context, p: Principal, task_id: str) -> dict[str, Any]:
    """One task with its clocks and the case's matter (never the worker's identity).

    A liaison sees their task's own events only; others see the case's timeline.
    """
    task, case = load_task(ctx, task_id)
    check_task(p, Action.task_read, task)
    s, now = ctx.settings, ctx.now()
    with ctx.session() as session:
        deadlines = queries.task_deadlines(session=session, task_ids=[task_id])
        events = queries.case_events(session=session, case_id=case.case_id)
        data = _row(ctx, p, task, case, task_dict(task, deadlines[task_id], s, now))
        if p.role is Role.liaison:
            events = [e for e in events if e.task_id == task_id]
        data["timeline"] = [event_dict(e, s) for e in events]
    data["verbs"] = allowed_verbs(p, task)
    return data


def allowed_verbs(p: Principal, task: TaskRow) -> list[str]:
    """The actions this person's role and scope allow on the task (the workflow may still
    refuse one for the task's state); the screens offer these."""
    if task.status not in OPEN:
        return []
    out = []
    for verb, v in TASK_VERBS.items():
        try:
            check_task(p, v.action, task)
        except Exception:  # noqa: BLE001 - Forbidden: not offered
            continue
        out.append(verb)
    return out


async def act_on_task(
    ctx: Context,
    p: Principal,
    task_id: str,
    verb: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
) -> ActionAnswer:
    """Act on a task as ``p``. ``key``: the caller's idempotency key; the same key sent
    again by the same person for the same action is that action's answer, not a second
    action (a note retried after "no answer within 30 s" is one note)."""
    from services.validation import parse

    found = TASK_VERBS.get(verb)
    if found is None:
        raise NotFound(f"unknown task action {verb!r}: one of {', '.join(TASK_VERBS)}")
    retry = check_action_key(key, task_id)
    async with answered_within(f"the {verb}", retry):
        task, _ = await off_loop(load_task, ctx, task_id)
        check_task(p, found.action, task)
        arg = found.build(parse(found.body, body), p.staff_id)
        check_target_region(ctx.rules, arg)
        update_id = action_update_id(verb, p, key)
        closed = None
        if task.status not in OPEN:
            # A task that ended never reopens (a reopened case gets new tasks), so the
            # read model's word is final here: only a keyed retry goes on to Temporal.
            closed = Conflict(f"task {task_id} is {task.status}; {verb} applies to open tasks only")
            if update_id is None:
                raise closed
        async with answered_from_record(closed):
            result = await update(
                await ctx.client(),
                task_id,
                "task",
                found.update,
                arg,
                ActionResult,
                update_id=update_id,
            )
        # The next page shows it: written from the answer, or else by the worker.
        if not await written_through(ctx.engine, result):
            await task_projected(ctx.engine, task_id, result.version)
        return ActionAnswer.model_validate(result.model_dump(exclude={"projection"}))
