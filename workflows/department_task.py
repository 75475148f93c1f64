"""DepartmentTaskWorkflow: one office's task (工单) within a case, and its clocks.

The task is a child of its case. Handlers act on it through Updates whose
validators reject a wrong actor, a wrong state or bad input before anything is
written to history. Its clocks (sign-for, reply, statutory …) warn and escalate by
e-mail on their own (see task_clocks.py). When the task ends (completed, returned,
transferred or cancelled) every clock stops and the case gets a TaskResult.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from models.events import ProjectionBatch
    from models.sla import (
        ClockEvent,
        ClockOp,
        ClockState,
        DeadlineRequest,
        Extension,
        ExtensionStatus,
        Pause,
    )
    from models.tasks import (
        AcceptInput,
        ActionResult,
        AddCohandlerInput,
        AddCohandlerSignal,
        CancelInput,
        ChangePlanSignal,
        CompleteInput,
        CoStatus,
        DecideExtensionInput,
        ExtendInput,
        ExternalReplyInput,
        LiaisonReplyInput,
        NoteInput,
        Outcome,
        ProvideInfoInput,
        RequestInfoInput,
        ReturnInput,
        TaskInput,
        TaskResult,
        TaskState,
        TaskStatus,
        TransferInput,
        UrgeSignal,
    )
    from sla.periods import Period
    from workflows.notices import Notices
    from workflows.policies import COMPUTE_RETRY, COMPUTE_TIMEOUT
    from workflows.projection import Projector
    from workflows.task_clocks import TaskClocks
    from workflows.task_projection import task_projection

TASK_CHANGED_SIGNAL = "task_changed"
ADD_COHANDLER_SIGNAL = "add_cohandler"
OPEN = (TaskStatus.dispatched, TaskStatus.accepted, TaskStatus.waiting_on_worker)


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
        self._notes: list[str] = []
        self._result: TaskResult | None = None
        self._ready = False
        self._priority = inp.priority
        self._return_until: datetime | None = None
        self._co = CoStatus(pending=list(inp.awaiting))
        self._clocks = TaskClocks(
            inp.plan.clocks,
            role=inp.role.value,
            plan=inp.plan.name,
            office_hours=self._office.office_hours,
            urgent=inp.urgent,
        )
        self._projector = Projector(workflow_id=inp.task_id, case_id=inp.case_id)
        self._notices = Notices(inp)

    # ---- run -------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TaskInput) -> TaskResult:
        async with self._clocks.lock:
            await self._clocks.start_on("dispatched")
            window = await workflow.execute_activity_method(
                ClockActivities.compute_deadlines,
                DeadlineRequest(start=self._dispatched_at, periods=[inp.plan.return_window]),
                start_to_close_timeout=COMPUTE_TIMEOUT,
                retry_policy=COMPUTE_RETRY,
            )
            self._return_until = window.due[0]
        self._ready = True
        if inp.assignment.external:
            # The receiving hotline learns of the case by e-mail, with the matter
            # but not the worker's identity; it answers through a clerk here.
            await self._notices.send_handoff()
        due = ", ".join(
            f"{c.label} {c.due_at:%Y-%m-%d %H:%M}" for c in self._clock_list() if c.due_at
        )
        await self._record(
            "dispatched",
            None,
            f"{inp.role.value} → {self._office.name} ({self._office.region}); {due}",
            {"reopened": inp.reopened, "plan": inp.plan.name, "designated": inp.designated},
        )
        driver = asyncio.create_task(self._clocks.drive(lambda: self._status in OPEN, self._fire))
        await workflow.wait_condition(lambda: self._result is not None)
        await driver  # a rung that was firing when the task closed finishes its mail
        # Handlers project before returning; let them finish so the read model is
        # complete when the case sees the result.
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
            clocks=self._clock_list(),
            dispatched_at=self._dispatched_at,
            accepted_at=self._accepted_at,
            closed_at=self._closed_at,
            outcome=self._result.outcome if self._result else None,
            reply=self._result.reply if self._result else None,
            notes=list(self._notes),
            designated=self._inp.designated,
            return_until=self._return_until,
            waiting_for=list(self._co.pending),
            may_proceed=self._co.proceed,
            opinions=list(self._co.opinions),
        )

    # ---- validators' building blocks ------------------------------------------

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

    def _check_clock(self, name: str) -> ClockState:
        clock = self._clocks.clocks.get(name)
        if clock is None:
            raise _reject(
                f"task {self._inp.task_id} has no clock {name!r}; clocks: "
                f"{', '.join(self._clocks.clocks)}"
            )
        return clock

    # ---- updates: handling ----------------------------------------------------

    @workflow.update
    async def accept(self, inp: AcceptInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            # Checked again under the lock: two updates in one activation both pass
            # validation before either handler runs.
            self._validate_accept(inp)
            self._status = TaskStatus.accepted
            self._accepted_at = workflow.now()
            self._clocks.stop_on("accepted", workflow.now())
            await self._clocks.start_on("accepted")
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
        self._check_status("add a note to", *OPEN)

    @workflow.update
    async def complete(self, inp: CompleteInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:  # never while a clock operation is in flight
            self._validate_complete(inp)
            self._close(TaskStatus.completed)
            self._result = self._make_result(inp.actor, outcome=inp.outcome, reply=inp.reply)
        await self._record("completed", inp.actor, inp.reply, {"outcome": inp.outcome.value})
        return self._action_result()

    @complete.validator
    def _validate_complete(self, inp: CompleteInput) -> None:
        self._check_actor(inp.actor)
        # Signing for the task first (签收) is what starts the office's ownership.
        self._check_status("complete", TaskStatus.accepted)
        if self._co.pending and not self._co.proceed:
            raise _reject(
                f"the lead replies once every co-handler has given its opinion; waiting for "
                f"{', '.join(self._co.pending)} (a supervisor may let the lead go ahead: "
                f"appeals proceed {self._inp.case_id})"
            )

    # ---- co-handling (主办/协办) and other answers ---------------------------------

    @workflow.signal
    def co_status(self, inp: CoStatus) -> None:
        self._co = inp

    @workflow.update
    async def add_cohandler(self, inp: AddCohandlerInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_add_cohandler(inp)
        region = inp.region or self._office.region
        await self._record(
            "cohandler_requested",
            inp.actor,
            f"{inp.department}@{region}: {inp.reason}",
            {"department": inp.department, "region": region},
        )
        parent = workflow.get_external_workflow_handle(self._inp.case_id)
        await parent.signal(
            ADD_COHANDLER_SIGNAL,
            AddCohandlerSignal(
                task_id=self._inp.task_id,
                actor=inp.actor,
                department=inp.department,
                region=region,
                reason=inp.reason,
            ),
        )
        return self._action_result()

    @add_cohandler.validator
    def _validate_add_cohandler(self, inp: AddCohandlerInput) -> None:
        self._check_actor(inp.actor)
        self._check_status(
            "ask for a co-handler on",
            TaskStatus.dispatched,
            TaskStatus.accepted,
            TaskStatus.waiting_on_worker,
        )
        if self._inp.role.value != "lead":
            raise _reject("only the lead office (主办) asks for co-handlers")
        if inp.department not in self._inp.departments:
            raise _reject(
                f"unknown department {inp.department!r}; known: {', '.join(self._inp.departments)}"
            )
        if inp.region is not None and inp.region not in self._inp.regions:
            raise _reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")
        if (
            inp.department == self._office.department
            and (inp.region or self._office.region) == self._office.region
        ):
            raise _reject("the lead office cannot be its own co-handler")

    @workflow.update
    async def external_reply(self, inp: ExternalReplyInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_external_reply(inp)
            self._close(TaskStatus.completed)
            self._result = self._make_result(inp.actor, outcome=Outcome.resolved, reply=inp.text)
        await self._record("external_reply", inp.actor, inp.text)
        return self._action_result()

    @external_reply.validator
    def _validate_external_reply(self, inp: ExternalReplyInput) -> None:
        if not self._inp.assignment.external:
            raise _reject(f"task {self._inp.task_id} is not an external hand-off")
        if inp.actor not in self._inp.clerks:
            raise _reject(
                f"{inp.actor} is not an intake clerk; a clerk records the external hotline's answer"
            )
        self._check_status("record an answer on", *OPEN)

    @workflow.update
    async def liaison_reply(self, inp: LiaisonReplyInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_liaison_reply(inp)
            self._close(TaskStatus.completed)
            self._result = self._make_result(inp.actor, outcome=Outcome.resolved, reply=inp.text)
        await self._record("liaison_reply", inp.actor, inp.text)
        return self._action_result()

    @liaison_reply.validator
    def _validate_liaison_reply(self, inp: LiaisonReplyInput) -> None:
        if self._inp.role.value != "liaison":
            raise _reject(f"task {self._inp.task_id} is not a platform liaison task")
        self._check_actor(inp.actor)
        self._check_status("answer", *OPEN)

    @workflow.update(name="return")
    async def return_(self, inp: ReturnInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_return(inp)
            self._close(TaskStatus.returned)
            self._result = self._make_result(inp.actor, reason=inp.reason, owner=inp.owner)
        await self._record(
            "returned", inp.actor, f"{inp.reason} (owner: {inp.owner})", {"owner": inp.owner}
        )
        return self._action_result()

    @return_.validator
    def _validate_return(self, inp: ReturnInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("return", TaskStatus.dispatched, TaskStatus.accepted)
        if self._inp.designated:
            raise _reject(
                f"task {self._inp.task_id} was designated to {self._office.name} by a "
                "supervisor after a dispatch dispute; it cannot be returned again"
            )
        if self._return_until is not None and workflow.now() > self._return_until:
            raise _reject(
                f"the return window ({self._inp.plan.return_window} after dispatch) closed at "
                f"{self._return_until:%Y-%m-%d %H:%M}; handle the task or transfer it"
            )
        if inp.owner not in self._inp.departments:
            raise _reject(
                f"unknown owner department {inp.owner!r}; known: {', '.join(self._inp.departments)}"
            )

    @workflow.update
    async def transfer(self, inp: TransferInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        region = inp.region or self._office.region
        async with self._clocks.lock:
            self._validate_transfer(inp)
            self._close(TaskStatus.transferred)
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

    # ---- updates: pauses and extensions ----------------------------------------

    @workflow.update
    async def request_info(self, inp: RequestInfoInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_request_info(inp)
            self._status = TaskStatus.waiting_on_worker
            for name in self._clocks.running(pausable=True):
                self._clocks.clocks[name].pauses.append(
                    Pause(started_at=workflow.now(), reason=inp.question, by=inp.actor)
                )
                await self._clocks.op(name, ClockOp.pause)
        await self._record("info_requested", inp.actor, inp.question)
        return self._action_result()

    @request_info.validator
    def _validate_request_info(self, inp: RequestInfoInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("ask the worker for material on", TaskStatus.accepted)
        if not self._clocks.running(pausable=True):
            raise _reject("no running clock of this task can be paused")

    @workflow.update
    async def provide_info(self, inp: ProvideInfoInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_provide_info(inp)
            await self._resume_all(inp.actor)
        await self._record("info_provided", inp.actor, inp.text)
        return self._action_result()

    @provide_info.validator
    def _validate_provide_info(self, inp: ProvideInfoInput) -> None:
        if inp.actor not in self._inp.clerks:
            raise _reject(
                f"{inp.actor} is not an intake clerk; only a clerk records the worker's material"
            )
        self._check_status("record material for", TaskStatus.waiting_on_worker)

    async def _resume_all(self, by: str) -> None:
        for name in self._clocks.paused():
            pause = self._clocks.clocks[name].pauses[-1]
            pause.ended_at, pause.resumed_by = workflow.now(), by
            await self._clocks.op(name, ClockOp.resume)
        if self._status is TaskStatus.waiting_on_worker:  # not if it closed meanwhile
            self._status = TaskStatus.accepted

    @workflow.update
    async def extend(self, inp: ExtendInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:  # an op in flight would overwrite the new request
            self._validate_extend(inp)
            clock = self._clocks.clocks[inp.clock]
            clock.extensions.append(
                Extension(
                    n=len(clock.extensions) + 1,
                    period=str(Period.parse(inp.period)),
                    reason=inp.reason,
                    requested_by=inp.actor,
                    requested_at=workflow.now(),
                )
            )
            self._clocks.version += 1
        await self._record(
            "extension_requested",
            inp.actor,
            f"{clock.label} +{inp.period}: {inp.reason}",
            {"clock": inp.clock},
        )
        return self._action_result()

    @extend.validator
    def _validate_extend(self, inp: ExtendInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("extend", *OPEN)
        clock = self._check_clock(inp.clock)
        if clock.status.value in ("pending", "stopped"):
            raise _reject(f"the {clock.label} clock is {clock.status.value}; nothing to extend")
        try:
            period = Period.parse(inp.period)
        except ValueError as e:
            raise _reject(str(e)) from e
        if any(e.status is ExtensionStatus.pending for e in clock.extensions):
            raise _reject(f"an extension of the {clock.label} clock already awaits a decision")
        granted = [e for e in clock.extensions if e.status is ExtensionStatus.approved]
        spec = clock.spec
        if spec.max_extensions is not None and len(granted) >= spec.max_extensions:
            raise _reject(
                f"the {clock.label} clock allows {spec.max_extensions} extension(s); all are used"
            )
        if spec.max_extension is None:
            raise _reject(f"the plan allows no extension of the {clock.label} clock")
        cap = Period.parse(spec.max_extension)
        if period.unit != cap.unit:
            raise _reject(
                f"extensions of the {clock.label} clock are counted in {cap.unit.value}"
                f", e.g. 5{cap.unit.value}"
            )
        used = sum(Period.parse(e.period).value for e in granted)
        if used + period.value > cap.value:
            raise _reject(
                f"the plan caps extensions of the {clock.label} clock at {cap} in all;"
                f" {used}{cap.unit.value} already granted"
            )

    @workflow.update
    async def approve_extension(self, inp: DecideExtensionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_approve(inp)
            clock = self._clocks.clocks[inp.clock]
            ext = next(e for e in clock.extensions if e.status is ExtensionStatus.pending)
            ext.status, ext.decided_by, ext.decided_at = (
                ExtensionStatus.approved,
                inp.actor,
                workflow.now(),
            )
            ext.decision_reason = inp.reason
            clock = await self._clocks.op(inp.clock, ClockOp.extend, period=ext.period)
        due = f"{clock.due_at:%Y-%m-%d %H:%M}" if clock.due_at else "paused"
        await self._record(
            "extension_approved",
            inp.actor,
            f"{clock.label} +{ext.period} → due {due}",
            {"clock": inp.clock},
        )
        return self._action_result()

    def _check_decision(self, inp: DecideExtensionInput) -> None:
        if inp.actor not in self._inp.supervisors:
            raise _reject(f"{inp.actor} is not a supervisor; only a supervisor decides extensions")
        clock = self._check_clock(inp.clock)
        if not any(e.status is ExtensionStatus.pending for e in clock.extensions):
            raise _reject(f"no extension of the {clock.label} clock awaits a decision")
        if not self._status.is_open:
            raise _reject(f"task {self._inp.task_id} is {self._status.value}")

    @approve_extension.validator
    def _validate_approve(self, inp: DecideExtensionInput) -> None:
        self._check_decision(inp)

    @workflow.update
    async def deny_extension(self, inp: DecideExtensionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_deny(inp)
            clock = self._clocks.clocks[inp.clock]
            ext = next(e for e in clock.extensions if e.status is ExtensionStatus.pending)
            ext.status, ext.decided_by, ext.decided_at = (
                ExtensionStatus.denied,
                inp.actor,
                workflow.now(),
            )
            ext.decision_reason = inp.reason
            self._clocks.version += 1
        await self._record(
            "extension_denied", inp.actor, f"{clock.label}: {inp.reason}", {"clock": inp.clock}
        )
        return self._action_result()

    @deny_extension.validator
    def _validate_deny(self, inp: DecideExtensionInput) -> None:
        self._check_decision(inp)
        if not inp.reason or len(inp.reason.strip()) < 2:
            raise _reject("a denial needs a reason (--reason)")

    # ---- signals from the case ---------------------------------------------------

    @workflow.signal
    async def cancel(self, inp: CancelInput) -> None:
        """The case was withdrawn: stop everything, whatever the task's state."""
        async with self._clocks.lock:
            if not self._status.is_open:
                return
            self._close(TaskStatus.cancelled)
            self._result = self._make_result(None, reason=inp.reason)
        await self._record("cancelled", None, inp.reason)

    @workflow.signal
    async def change_plan(self, inp: ChangePlanSignal) -> None:
        """A new plan mid-way keeps the time already spent (retroactive start)."""
        await workflow.wait_condition(lambda: self._ready)
        specs = {s.name: s for s in inp.plan.clocks}
        async with self._clocks.lock:
            if not self._status.is_open:
                return
            self._clocks.urgent = self._clocks.urgent or inp.plan.name == "urgent"
            for name in list(self._clocks.clocks):
                if name in specs:
                    await self._clocks.op(
                        name, ClockOp.replan, spec=specs[name], plan=inp.plan.name
                    )
        await self._record("plan_changed", inp.actor, f"→ {inp.plan.name}: {inp.reason}")

    @workflow.signal
    async def urge(self, inp: UrgeSignal) -> None:
        """督办: the case's priority rose; from now on this task's mail goes out at once."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            if not self._status.is_open:
                return
            self._priority = max(self._priority, inp.priority)
            self._clocks.urgent = True
            for name in self._clocks.running():
                await self._clocks.op(name, ClockOp.reschedule)
        await self._notices.send_urge(inp, inp.priority)
        await self._record("urged", inp.actor, inp.text, {"priority": inp.priority})

    # ---- clocks firing ---------------------------------------------------------------

    async def _fire(self, clock: ClockState, event: ClockEvent) -> None:
        if event.kind == "auto_resume":
            await self._resume_all("system")
            await self._record(
                "info_timeout", None, f"pause limit {clock.spec.max_pause} reached: clocks resumed"
            )
            return
        if event.kind == "warning" and clock.due_at and clock.due_at <= workflow.now():
            # A warning passed only because a new plan moved the due time into the
            # past: the breach's rungs say more, so the office gets those instead.
            await self._record(
                "warning_superseded",
                None,
                f"{clock.label} {event.key}",
                {"clock": clock.name, "event": event.key},
            )
            return
        await self._notices.send_clock_event(clock, event, self._priority)
        action = "warning" if event.kind == "warning" else "escalated"
        late = ""
        if event.kind == "breach" and clock.due_at is not None:
            late = f" (due {clock.due_at:%Y-%m-%d %H:%M})"
        await self._record(
            action,
            None,
            f"{clock.label} {event.key}{late}",
            {"clock": clock.name, "event": event.key},
        )

    # ---- helpers -------------------------------------------------------------

    def _clock_list(self) -> list[ClockState]:
        return list(self._clocks.clocks.values())

    def _close(self, status: TaskStatus) -> None:
        self._status = status
        self._closed_at = workflow.now()
        self._clocks.stop_on("*", self._closed_at)

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

    async def _record(
        self,
        action: str,
        actor: str | None,
        detail: str | None,
        data: dict[str, object] | None = None,
    ) -> None:
        """Write the audit event and the task's new state, then tell the case."""
        event = self._projector.event(
            action, actor=actor, detail=detail, task_id=self._inp.task_id, data=data
        )
        projection = task_projection(
            self.state(),
            self._inp,
            self._office,
            version=self._projector.bump(),
            priority=self._priority,
        )
        await self._projector.write(ProjectionBatch(task=projection, events=[event]))
        parent = workflow.get_external_workflow_handle(self._inp.case_id)
        await parent.signal(TASK_CHANGED_SIGNAL, self.state())
