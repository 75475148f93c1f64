"""DepartmentTaskWorkflow: one office's task (工单) within a case, and its clocks.

The task is a child of its case. Handlers act on it through Updates whose
validators reject a wrong actor, a wrong state or bad input before anything is
written to history. When the task ends (completed, returned, transferred or
cancelled) it returns a TaskResult and the case decides what comes next.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from models.events import AuditEvent, DeadlineProjection, ProjectionBatch, TaskProjection
    from models.sla import Deadline, DeadlineRequest
    from models.tasks import (
        AcceptInput,
        ActionResult,
        CancelInput,
        CompleteInput,
        NoteInput,
        ReturnInput,
        TaskInput,
        TaskResult,
        TaskState,
        TaskStatus,
        TransferInput,
    )
    from workflows.policies import COMPUTE_RETRY, COMPUTE_TIMEOUT
    from workflows.projection import Projector

TASK_CHANGED_SIGNAL = "task_changed"


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidAction", non_retryable=True)


@workflow.defn
class DepartmentTaskWorkflow:
    @workflow.init
    def __init__(self, inp: TaskInput) -> None:
        self._inp = inp
        self._office = inp.assignment.office
        self._status = TaskStatus.dispatched
        self._dispatched_at = workflow.now()
        self._accepted_at: datetime | None = None
        self._closed_at: datetime | None = None
        self._deadlines: list[Deadline] = []
        self._notes: list[str] = []
        self._result: TaskResult | None = None
        self._ready = False
        self._projector = Projector(workflow_id=inp.task_id, case_id=inp.case_id)

    # ---- run -------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TaskInput) -> TaskResult:
        result = await workflow.execute_activity_method(
            ClockActivities.compute_deadlines,
            DeadlineRequest(
                start=self._dispatched_at,
                periods=[c.period for c in inp.plan.clocks],
                department=self._office.department,
                region=self._office.region,
            ),
            start_to_close_timeout=COMPUTE_TIMEOUT,
            retry_policy=COMPUTE_RETRY,
        )
        self._deadlines = [
            Deadline(clock=c.name, label=c.label, period=c.period, stops_on=c.stops_on, due_at=due)
            for c, due in zip(inp.plan.clocks, result.due, strict=True)
        ]
        self._ready = True
        due = ", ".join(f"{d.label} {d.due_at.isoformat()}" for d in self._deadlines)
        await self._record(
            "dispatched",
            None,
            f"{inp.role.value} → {self._office.name} ({self._office.region}); {due}",
            {"reopened": inp.reopened, "plan": inp.plan.name},
        )
        await workflow.wait_condition(lambda: self._result is not None)
        # Handlers project and notify before returning; let them finish so the
        # read model is complete when the case sees the result.
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._result is not None
        return self._result

    # ---- queries ---------------------------------------------------------

    @workflow.query
    def state(self) -> TaskState:
        return TaskState(
            case_id=self._inp.case_id,
            task_id=self._inp.task_id,
            role=self._inp.role,
            status=self._status,
            department=self._office.department,
            region=self._office.region,
            office_name=self._office.name,
            handlers=list(self._office.handlers),
            deadlines=list(self._deadlines),
            dispatched_at=self._dispatched_at,
            accepted_at=self._accepted_at,
            closed_at=self._closed_at,
            outcome=self._result.outcome if self._result else None,
            reply=self._result.reply if self._result else None,
            notes=list(self._notes),
        )

    # ---- updates: handler actions ------------------------------------------

    def _check_actor(self, actor: str) -> None:
        if actor not in self._office.handlers:
            raise _reject(
                f"{actor} is not a handler of {self._office.name}; "
                f"handlers: {', '.join(self._office.handlers) or 'none'}"
            )

    def _check_status(self, action: str, *allowed: TaskStatus) -> None:
        if self._status not in allowed:
            wanted = " or ".join(s.value for s in allowed)
            raise _reject(
                f"cannot {action} task {self._inp.task_id}: it is {self._status.value}, "
                f"not {wanted}"
            )

    @workflow.update
    async def accept(self, inp: AcceptInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        # Checked again here: two updates in one activation both pass validation
        # before either handler runs.
        self._validate_accept(inp)
        self._status = TaskStatus.accepted
        self._accepted_at = workflow.now()
        self._stop_clocks("accepted")
        await self._record("accepted", inp.actor, f"签收 by {self._office.name}")
        return self._action_result()

    @accept.validator
    def _validate_accept(self, inp: AcceptInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("accept", TaskStatus.dispatched)

    @workflow.update
    async def note(self, inp: NoteInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_note(inp)
        self._notes.append(inp.text)
        await self._record("note", inp.actor, inp.text)
        return self._action_result()

    @note.validator
    def _validate_note(self, inp: NoteInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("add a note to", TaskStatus.dispatched, TaskStatus.accepted)

    @workflow.update
    async def complete(self, inp: CompleteInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_complete(inp)
        self._close(TaskStatus.completed, "completed")
        self._result = self._make_result(inp.actor, outcome=inp.outcome, reply=inp.reply)
        await self._record("completed", inp.actor, inp.reply, {"outcome": inp.outcome.value})
        return self._action_result()

    @complete.validator
    def _validate_complete(self, inp: CompleteInput) -> None:
        self._check_actor(inp.actor)
        # Signing for the task first (签收) is what starts the office's ownership.
        self._check_status("complete", TaskStatus.accepted)

    @workflow.update(name="return")
    async def return_(self, inp: ReturnInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_return(inp)
        self._close(TaskStatus.returned, "returned")
        self._result = self._make_result(inp.actor, reason=inp.reason)
        await self._record("returned", inp.actor, inp.reason)
        return self._action_result()

    @return_.validator
    def _validate_return(self, inp: ReturnInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("return", TaskStatus.dispatched, TaskStatus.accepted)

    @workflow.update
    async def transfer(self, inp: TransferInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_transfer(inp)
        region = inp.region or self._office.region
        self._close(TaskStatus.transferred, "transferred")
        self._result = self._make_result(
            inp.actor,
            reason=inp.reason,
            transfer_department=inp.department,
            transfer_region=region,
        )
        await self._record(
            "transferred",
            inp.actor,
            f"→ {inp.department}@{region}: {inp.reason}",
            {"department": inp.department, "region": region},
        )
        return self._action_result()

    @transfer.validator
    def _validate_transfer(self, inp: TransferInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("transfer", TaskStatus.dispatched, TaskStatus.accepted)
        if inp.department not in self._inp.departments:
            raise _reject(
                f"unknown department {inp.department!r}; known: {', '.join(self._inp.departments)}"
            )
        if inp.region is not None and inp.region not in self._inp.regions:
            raise _reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")
        region = inp.region or self._office.region
        if inp.department == self._office.department and region == self._office.region:
            raise _reject("a transfer must name another department or region than the task's own")

    # ---- signal from the case ------------------------------------------------

    @workflow.signal
    async def cancel(self, inp: CancelInput) -> None:
        """The case was withdrawn: stop everything, whatever the task's state."""
        if not self._status.is_open:
            return
        self._close(TaskStatus.cancelled, "cancelled")
        self._result = self._make_result(None, reason=inp.reason)
        await self._record("cancelled", None, inp.reason)

    # ---- helpers -------------------------------------------------------------

    def _stop_clocks(self, event: str) -> None:
        now = workflow.now()
        for d in self._deadlines:
            if d.stopped_at is None and (event == "*" or d.stops_on == event):
                d.stopped_at = now

    def _close(self, status: TaskStatus, event: str) -> None:
        self._status = status
        self._closed_at = workflow.now()
        self._stop_clocks("*")

    def _make_result(self, actor: str | None, **fields: object) -> TaskResult:
        return TaskResult(
            task_id=self._inp.task_id,
            role=self._inp.role,
            status=self._status,
            department=self._office.department,
            region=self._office.region,
            actor=actor,
            **fields,
        )

    def _action_result(self) -> ActionResult:
        return ActionResult(task_id=self._inp.task_id, status=self._status)

    def _projection(self) -> TaskProjection:
        return TaskProjection(
            task_id=self._inp.task_id,
            case_id=self._inp.case_id,
            version=self._projector.bump(),
            seq=self._inp.seq,
            role=self._inp.role.value,
            status=self._status.value,
            department=self._office.department,
            region=self._office.region,
            office_id=self._office.id,
            office_name=self._office.name,
            category=self._inp.category,
            dispatched_at=self._dispatched_at,
            accepted_at=self._accepted_at,
            closed_at=self._closed_at,
            outcome=self._result.outcome.value if self._result and self._result.outcome else None,
            reply=self._result.reply if self._result else None,
            deadlines=[DeadlineProjection(**d.model_dump()) for d in self._deadlines],
        )

    async def _record(
        self,
        action: str,
        actor: str | None,
        detail: str | None,
        data: dict[str, object] | None = None,
    ) -> None:
        """Write the audit event and the task's new state, then tell the case."""
        event: AuditEvent = self._projector.event(
            action, actor=actor, detail=detail, task_id=self._inp.task_id, data=data
        )
        await self._projector.write(ProjectionBatch(task=self._projection(), events=[event]))
        parent = workflow.get_external_workflow_handle(self._inp.case_id)
        await parent.signal(TASK_CHANGED_SIGNAL, self.state())
