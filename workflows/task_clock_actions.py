"""The task's clock actions: pauses for the worker's material, extensions and their
decisions, a new plan or 督办 from the case, and what happens when a clock fires."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.routing import RoutingActivities
    from models.notify import SupervisorsRequest
    from models.sla import (
        ClockEvent,
        ClockOp,
        ClockState,
        Extension,
        ExtensionStatus,
        Pause,
    )
    from models.tasks import (
        ActionResult,
        ChangePlanSignal,
        DecideExtensionInput,
        ExtendInput,
        ProvideInfoInput,
        RequestInfoInput,
        TaskStatus,
        UrgeSignal,
    )
    from sla.periods import Period

from workflows import patches
from workflows.after_commit import marks_update
from workflows.compute import compute, compute_options
from workflows.task_base import OPEN, TaskBase, reject
from workflows.task_clocks import ClockUnavailable


class TaskClockActions(TaskBase):
    """Handlers that pause, extend, re-plan or hurry the task's clocks."""

    # ---- updates: pauses and extensions ----------------------------------------

    @workflow.update
    @marks_update
    async def request_info(self, inp: RequestInfoInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_request_info(inp)
            failed = await self._clock_change("pause", lambda: self._pause_all(inp))
        await self._refuse_if(failed)
        await self._record("info_requested", inp.actor, inp.question)
        return self._action_result()

    async def _pause_all(self, inp: RequestInfoInput) -> None:
        self._status = TaskStatus.waiting_on_worker
        for name in self._clocks.running(pausable=True):
            self._clocks.clocks[name].pauses.append(
                Pause(started_at=workflow.now(), reason=inp.question, by=inp.actor)
            )
            await self._clocks.op(name, ClockOp.pause)

    # ---- when the calendar arithmetic keeps failing (patches.COMPUTE_BOUNDED) ------

    async def _clock_change(self, what: str, change: Callable[[], Awaitable[object]]) -> str | None:
        """Make a change of the clocks (with their lock held). If its arithmetic cannot
        be computed, the clocks and the task's status are put back as they were and the
        reason is returned: every deadline stays as it was, none is lost."""
        before, status = self._clocks.snapshot(), self._status
        try:
            await change()
        except ClockUnavailable as e:
            self._clocks.restore(before)
            self._status = status
            workflow.logger.error("task %s: %s failed: %s", self._inp.task_id, what, e)
            return f"{what}: deadlines could not be computed ({e}); the clocks keep their deadlines"
        return None

    async def _refuse_if(self, failed: str | None) -> None:
        """An action whose new deadlines cannot be computed is refused, nothing changed;
        the timeline says so, so that a supervisor sees the calendar needs mending."""
        if failed is None:
            return
        await self._record("clock_failed", None, failed)
        raise ApplicationError(
            "the deadlines could not be computed just now; nothing changed, try again later",
            type="ClockUnavailable",
            non_retryable=True,
        )

    @request_info.validator
    def _validate_request_info(self, inp: RequestInfoInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("ask the worker for material on", TaskStatus.accepted)
        if not self._clocks.running(pausable=True):
            raise reject("no running clock of this task can be paused")

    @workflow.update
    @marks_update
    async def provide_info(self, inp: ProvideInfoInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_provide_info(inp)
            failed = await self._clock_change("resume", lambda: self._resume_all(inp.actor))
        await self._refuse_if(failed)
        await self._record("info_provided", inp.actor, inp.text)
        return self._action_result()

    @provide_info.validator
    def _validate_provide_info(self, inp: ProvideInfoInput) -> None:
        if inp.actor not in self._inp.clerks:
            raise reject(
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
    @marks_update
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
        if patches.taken(patches.EXTENSION_NOTICE):
            try:
                supervisors = await compute(
                    RoutingActivities.supervisors_for,
                    SupervisorsRequest(region=self._office.region),
                    **compute_options(),
                )
            except ActivityError as e:  # the request stands; the board still shows it
                workflow.logger.warning("extension notice not sent: %s", e)
            else:
                await self._notices.send_extension_request(
                    clock, clock.extensions[-1], supervisors.to
                )
        return self._action_result()

    @extend.validator
    def _validate_extend(self, inp: ExtendInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("extend", *OPEN)
        clock = self._check_clock(inp.clock)
        if clock.status.value in ("pending", "stopped"):
            raise reject(f"the {clock.label} clock is {clock.status.value}; nothing to extend")
        try:
            period = Period.parse(inp.period)
        except ValueError as e:
            raise reject(str(e)) from e
        if any(e.status is ExtensionStatus.pending for e in clock.extensions):
            raise reject(f"an extension of the {clock.label} clock already awaits a decision")
        granted = [e for e in clock.extensions if e.status is ExtensionStatus.approved]
        spec = clock.spec
        if spec.max_extensions is not None and len(granted) >= spec.max_extensions:
            raise reject(
                f"the {clock.label} clock allows {spec.max_extensions} extension(s); all are used"
            )
        if spec.max_extension is None:
            raise reject(f"the plan allows no extension of the {clock.label} clock")
        cap = Period.parse(spec.max_extension)
        if period.unit != cap.unit:
            raise reject(
                f"extensions of the {clock.label} clock are counted in {cap.unit.value}"
                f", e.g. 5{cap.unit.value}"
            )
        used = sum(Period.parse(e.period).value for e in granted)
        if used + period.value > cap.value:
            raise reject(
                f"the plan caps extensions of the {clock.label} clock at {cap} in all;"
                f" {used}{cap.unit.value} already granted"
            )

    @workflow.update
    @marks_update
    async def approve_extension(self, inp: DecideExtensionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_approve(inp)
            ext = self._decide(inp, ExtensionStatus.approved)

            async def extend() -> None:
                await self._clocks.op(inp.clock, ClockOp.extend, period=ext.period)

            failed = await self._clock_change("extension", extend)
            clock = self._clocks.clocks[inp.clock]
        await self._refuse_if(failed)
        due = f"{clock.due_at:%Y-%m-%d %H:%M}" if clock.due_at else "paused"
        await self._record(
            "extension_approved",
            inp.actor,
            f"{clock.label} +{ext.period} → due {due}",
            {"clock": inp.clock},
        )
        return self._action_result()

    def _decide(self, inp: DecideExtensionInput, status: ExtensionStatus) -> Extension:
        """Record a supervisor's decision on the clock's pending extension."""
        clock = self._clocks.clocks[inp.clock]
        ext = next(e for e in clock.extensions if e.status is ExtensionStatus.pending)
        ext.status, ext.decided_by, ext.decided_at = status, inp.actor, workflow.now()
        ext.decision_reason = inp.reason
        return ext

    def _check_decision(self, inp: DecideExtensionInput) -> None:
        if inp.actor not in self._inp.supervisors:
            raise reject(f"{inp.actor} is not a supervisor; only a supervisor decides extensions")
        clock = self._check_clock(inp.clock)
        if not any(e.status is ExtensionStatus.pending for e in clock.extensions):
            raise reject(f"no extension of the {clock.label} clock awaits a decision")
        self._check_moving()
        if not self._status.is_open:
            raise reject(f"task {self._inp.task_id} is {self._status.value}")

    @approve_extension.validator
    def _validate_approve(self, inp: DecideExtensionInput) -> None:
        self._check_decision(inp)

    @workflow.update
    @marks_update
    async def deny_extension(self, inp: DecideExtensionInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            self._validate_deny(inp)
            clock = self._clocks.clocks[inp.clock]
            self._decide(inp, ExtensionStatus.denied)
            self._clocks.version += 1
        await self._record(
            "extension_denied", inp.actor, f"{clock.label}: {inp.reason}", {"clock": inp.clock}
        )
        return self._action_result()

    @deny_extension.validator
    def _validate_deny(self, inp: DecideExtensionInput) -> None:
        self._check_decision(inp)
        if not inp.reason or len(inp.reason.strip()) < 2:
            raise reject("a denial needs a reason (--reason)")

    # ---- signals from the case ---------------------------------------------------

    @workflow.signal
    async def change_plan(self, inp: ChangePlanSignal) -> None:
        """A new plan mid-way keeps the time already spent (retroactive start)."""
        await workflow.wait_condition(lambda: self._ready)
        specs = {s.name: s for s in inp.plan.clocks}
        async with self._clocks.lock:
            if not self._status.is_open:
                return
            urgent = self._clocks.urgent

            async def replan() -> None:
                self._clocks.urgent = self._clocks.urgent or inp.plan.name == "urgent"
                for name in list(self._clocks.clocks):
                    if name in specs:
                        await self._clocks.op(
                            name, ClockOp.replan, spec=specs[name], plan=inp.plan.name
                        )

            failed = await self._clock_change(f"plan {inp.plan.name}", replan)
            if failed:
                self._clocks.urgent = urgent
        if failed:  # the case's plan changed; this task's clocks could not follow
            await self._record("clock_failed", inp.actor, failed)
            return
        await self._record("plan_changed", inp.actor, f"→ {inp.plan.name}: {inp.reason}")

    @workflow.signal
    async def urge(self, inp: UrgeSignal) -> None:
        """督办: the case's priority rose; from now on this task's mail goes out at once."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            if not self._status.is_open:
                return
            self._priority = max(self._priority, inp.priority)
            urgent = self._clocks.urgent

            async def reschedule() -> None:
                self._clocks.urgent = True
                for name in self._clocks.running():
                    await self._clocks.op(name, ClockOp.reschedule)

            failed = await self._clock_change("督办 reschedule", reschedule)
            if failed:
                self._clocks.urgent = urgent
        if failed:  # the 督办 stands (mail, priority); the rungs keep their old hours
            await self._record("clock_failed", None, failed)
        await self._notices.send_urge(inp, inp.priority)
        if patches.taken(patches.URGE_ONE_TIMELINE_ROW):
            # The case recorded this 督办 once; the task's part is the mail above
            # and its new priority in the read model, not a second identical row.
            await self._project([])
        else:
            await self._record("urged", inp.actor, inp.text, {"priority": inp.priority})

    # ---- clocks firing ---------------------------------------------------------------

    async def _fire(self, clock: ClockState, event: ClockEvent) -> None:
        if event.kind == "auto_resume":
            if patches.taken(patches.CLOCKS_FIRE_OUTSIDE_LOCK):
                # Fired without the lock: take it for the ledger, and find out whether
                # the worker's material came in since the pause limit was reached.
                async with self._clocks.lock:
                    if self._status is not TaskStatus.waiting_on_worker:
                        return
                    failed = await self._clock_change(
                        "resume at the pause limit", lambda: self._resume_all("system")
                    )
                if failed:  # still paused: the clerk's material resumes it
                    await self._record("clock_failed", None, failed)
                    return
            else:
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

    async def _note_breach(self, clock: ClockState, event: ClockEvent) -> None:
        """The clock crossed a rung whose mail waits for office hours: the timeline
        says so now; the mail (and its "escalated" row) follows at ``notify_at``."""
        due = f" (due {clock.due_at:%Y-%m-%d %H:%M})" if clock.due_at else ""
        mail_at = f"; mailed {event.notify_at:%Y-%m-%d %H:%M}" if event.notify_at else ""
        await self._record(
            "breached",
            None,
            f"{clock.label} {event.key}{due}{mail_at}",
            {
                "clock": clock.name,
                "event": event.key,
                "mail_at": event.notify_at.isoformat() if event.notify_at else None,
            },
        )
