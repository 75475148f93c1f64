"""Driving cases in workflow tests the way the CLI does: start, query, update."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from db import queries
from db.tables import EventRow, OutboxRow
from models.case import CallbackInput, CaseInput, CaseState, case_id_for
from models.intake import IntakeForm
from models.tasks import AcceptInput, ActionResult, CompleteInput, TaskState
from services.projected import task_projected
from services.temporal import execute
from tests.conftest import Stack, eventually
from workflows.department_task import DepartmentTaskWorkflow
from workflows.grievance import GrievanceWorkflow

WAGE = {
    "name": "王小明",
    "phone": "13800138001",
    "occupation": "rider",
    "platform": "meituan",
    "category": "wage_arrears",
    "summary": "配送站拖欠两个月工资共8400元",
    "residence": "440111",
    "workplace": "440106",
}


def intake(**overrides: Any) -> IntakeForm:
    fields: dict[str, Any] = {**WAGE, "request_id": uuid.uuid4().hex, **overrides}
    return IntakeForm.model_validate(fields)


async def open_case(stack: Stack, form: IntakeForm) -> WorkflowHandle[Any, CaseState]:
    case_id = case_id_for(form.request_id)
    return await stack.client.start_workflow(
        GrievanceWorkflow.run,
        CaseInput(case_id=case_id, intake=form, opened_by="clerk.li"),
        id=case_id,
        task_queue=stack.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def case_state(handle: WorkflowHandle[Any, Any]) -> CaseState:
    return await handle.query(GrievanceWorkflow.state)


async def wait_tasks(
    handle: WorkflowHandle[Any, Any], count: int, *, status: str = "dispatched"
) -> list[TaskState]:
    """Wait until the case knows ``count`` tasks in ``status`` (as their signals arrive);
    each as the task itself tells it (the case holds only a brief of its tasks)."""

    async def check() -> list[str] | None:
        tasks = [t.task_id for t in (await case_state(handle)).tasks if t.status.value == status]
        return tasks if len(tasks) >= count else None

    return [await task_of(handle, task_id) for task_id in await eventually(check)]


async def task_of(case: WorkflowHandle[Any, Any], task_id: str) -> TaskState:
    """A task of ``case``, as the task itself tells it (its clocks, handlers, notes)."""
    # The SDK keeps a handle's client to itself; the task is read through the same one.
    state: TaskState = await case._client.get_workflow_handle(task_id).query(
        DepartmentTaskWorkflow.state
    )
    return state


async def wait_status(handle: WorkflowHandle[Any, Any], status: str) -> CaseState:
    async def check() -> CaseState | None:
        state = await case_state(handle)
        return state if state.status.value == status else None

    return await eventually(check)


async def act(stack: Stack, task_id: str, name: str, arg: Any) -> ActionResult:
    """A task action as the API sends it: the Update (sent again while the task moves to a
    new run), then the wait for its projection."""
    result = await execute(stack.client, task_id, name, arg, ActionResult)
    await task_projected(stack.engine, task_id, result.version)
    return result


async def task_query(stack: Stack, task_id: str) -> TaskState:
    handle = stack.client.get_workflow_handle(task_id)
    state: TaskState = await handle.query(DepartmentTaskWorkflow.state)
    return state


def events(stack: Stack, case_id: str) -> list[EventRow]:
    with Session(stack.engine) as session:
        return queries.case_events(session=session, case_id=case_id)


async def accepted_updates(stack: Stack, workflow_id: str) -> int:
    """How many updates a workflow's history holds: rejected ones must leave none."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )


async def opinions_in(stack: Stack, lead_task: str) -> TaskState:
    """Wait until the lead task has every opinion it waits for (or may proceed)."""

    async def check() -> TaskState | None:
        state = await task_query(stack, lead_task)
        return state if not state.waiting_for or state.may_proceed else None

    return await eventually(check)


async def answer_and_call_back(
    stack: Stack,
    handle: WorkflowHandle[Any, Any],
    replies: Sequence[tuple[TaskState, str]],
    *,
    accepted: Collection[str] = (),
) -> None:
    """Each task in turn accepts (unless its id is in ``accepted``) and completes as
    resolved with its reply, the lead once its co-handlers' opinions are in; then the
    clerk calls the worker back, satisfied."""
    for task, reply in replies:
        actor = task.handlers[0]
        if task.task_id not in accepted:
            await act(stack, task.task_id, "accept", AcceptInput(actor=actor))
        if task.role.value == "lead":
            await opinions_in(stack, task.task_id)
        outcome = CompleteInput(actor=actor, outcome="resolved", reply=reply)
        await act(stack, task.task_id, "complete", outcome)
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))


async def projected(stack: Stack, case_id: str) -> None:
    """Wait until the read model shows what the case's workflows know (projections are
    written in the background, so SQL can be a moment behind a signal or a query)."""
    handle = stack.client.get_workflow_handle(case_id)

    async def check() -> bool:
        state = await case_state(handle)
        with Session(stack.engine) as session:
            case = queries.get_case(session=session, case_id=case_id)
            rows = {
                t.task_id: t.status for t in queries.case_tasks(session=session, case_id=case_id)
            }
        want = {t.task_id: t.status.value for t in state.tasks}
        # Not settling: every task the case started has told it of itself (a task tells
        # its case a moment after its own actions: perf-case-told-in-background).
        settled = not state.settling
        return settled and case is not None and case.status == state.status.value and rows == want

    await eventually(check)


async def mails_settled(stack: Stack) -> None:
    """Wait until the outbox relay has nothing due or in hand: no queued or retrying row
    whose next attempt is within a lease of now (wall time: the relay's clock). Mails
    deferred to office hours in a skipped-ahead test clock lie far beyond that."""
    soon = datetime.now(UTC) + timedelta(minutes=2)

    async def check() -> bool:
        with Session(stack.engine) as session:
            due = session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(
                    col(OutboxRow.status).in_(("queued", "retrying")),
                    col(OutboxRow.next_attempt_at) <= soon,
                )
            )
        return due == 0

    await eventually(check)


async def runs_of(stack: Stack, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, first to last (more than one once it continued as new)."""
    runs: list[WorkflowHistory] = []
    run_id: str | None = None  # the latest run first, then back through the chain
    while True:
        history = await stack.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.insert(0, history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return runs
        run_id = started.continued_execution_run_id
