"""The read model's view of a task, built from the task's state."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.events import DeadlineProjection, TaskProjection
    from models.routing import Office
    from models.sla import ClockState
    from models.tasks import TaskInput, TaskState


def clock_projection(c: ClockState) -> DeadlineProjection:
    return DeadlineProjection(
        clock=c.name,
        label=c.label,
        period=c.spec.period,
        status=c.status.value,
        mode=c.mode,
        due_at=c.due_at,
        stopped_at=c.stopped_at,
        started_at=c.started_at,
        budget_seconds=int(c.budget.total_seconds()),
        spent_seconds=int(c.spent.total_seconds()),
        running_since=c.running_since,
        breached=c.breached,
        detail={
            "plan": c.plan,
            "urgent": c.urgent,
            "pauses": [p.model_dump(mode="json") for p in c.pauses],
            "extensions": [e.model_dump(mode="json") for e in c.extensions],
            "events": [e.model_dump(mode="json", exclude={"recipients"}) for e in c.events],
        },
    )


def task_projection(
    state: TaskState, inp: TaskInput, office: Office, *, version: int, priority: int
) -> TaskProjection:
    return TaskProjection(
        task_id=state.task_id,
        case_id=state.case_id,
        version=version,
        seq=inp.seq,
        role=state.role.value,
        status=state.status.value,
        department=state.department,
        region=state.region,
        office_id=office.id,
        office_name=state.office_name,
        category=inp.category,
        dispatched_at=state.dispatched_at,
        accepted_at=state.accepted_at,
        closed_at=state.closed_at,
        outcome=state.outcome.value if state.outcome else None,
        reply=state.reply,
        priority=priority,
        deadlines=[clock_projection(c) for c in state.clocks],
    )
