"""DepartmentTaskWorkflow: one office's task (工单) within a case, and its clocks.

The task is a child of its case. Handlers act on it through Updates whose
validators reject a wrong actor, a wrong state or bad input before anything is
written to history. Its clocks (sign-for, reply, statutory …) warn and escalate by
e-mail on their own (see task_clocks.py). When the task ends (completed, returned,
transferred or cancelled) every clock stops and the case gets a TaskResult.

This module holds the workflow itself: its run, signing for, notes, completing,
returning, transferring and cancelling the task. The rest comes from:
task_base.py (state, the state query, validators' building blocks, the audit
record), task_clock_actions.py (pauses, extensions, plan changes, 督办, clocks
firing) and task_answers.py (co-handling, external and liaison answers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from models.sla import DeadlineRequest, OfficeTimeRequest, OfficeTimeResult
    from models.tasks import (
        AcceptInput,
        ActionResult,
        CancelInput,
        CompleteInput,
        NoteInput,
        ReturnInput,
        TaskInput,
        TaskResult,
        TaskStatus,
        TransferInput,
    )

from workflows import patches
from workflows.after_commit import marks_update
from workflows.compute import compute, compute_options, decide_patches_first
from workflows.task_answers import TaskAnswers
from workflows.task_base import (
    ADD_COHANDLER_SIGNAL,
    NOTES_KEPT,
    OPEN,
    TASK_CHANGED_SIGNAL,
    reject,
)
from workflows.task_clock_actions import TaskClockActions

MAIL_SETTLE = timedelta(seconds=10)
# A run with this many events continues as new between actions (patches.
# TASK_CONTINUES_AS_NEW); its wind-down adds a few more. A note costs six events, an
# extension asked and granted about twenty, so a busy task runs 80-odd notes a run.
TASK_CONTINUE_AFTER = 500

# The case (grievance.py) signals and is signalled by these names.
__all__ = ["ADD_COHANDLER_SIGNAL", "TASK_CHANGED_SIGNAL", "DepartmentTaskWorkflow"]


@workflow.defn
class DepartmentTaskWorkflow(TaskClockActions, TaskAnswers):
    @workflow.init
    def __init__(self, inp: TaskInput) -> None:
        self._setup(inp)
        self._new_task_mail: asyncio.Future[Any] | None = None

    # ---- run -------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TaskInput) -> TaskResult:
        decide_patches_first()
        if inp.carried is None:
            await self._start_up(inp)
        elif self._new_task_mail_at is not None:
            # The previous run's new-task mail was waiting for the office to open.
            wait = (self._new_task_mail_at - workflow.now()).total_seconds()
            asyncio.create_task(self._mail_new_task_at_opening(max(wait, 0.001)))
        note = self._note_breach if patches.taken(patches.BREACH_NOTED_AT_ONCE) else None
        driver = asyncio.create_task(
            self._clocks.drive(
                lambda: self._status in OPEN and not self._continuing, self._fire, note=note
            )
        )
        may_continue = patches.taken(patches.TASK_CONTINUES_AS_NEW)
        await workflow.wait_condition(
            lambda: self._result is not None or (may_continue and self._run_is_long())
        )
        if self._result is None:
            await self._continue_as_new(driver, inp)  # returns if the task ended meanwhile
        await driver  # a rung that was firing when the task closed finishes its mail
        mail = self._new_task_mail
        if mail is not None and patches.taken(patches.NEW_TASK_MAIL_SETTLES) and not mail.done():
            # A task that ends within moments of its dispatch waits a little for its
            # new-task mail, so that the mail's workflow seldom outlives it (the
            # time-skipping test server stalls on a child still running after its
            # parent closed); a slow SMTP server holds the task MAIL_SETTLE at most.
            await workflow.wait([mail], timeout=MAIL_SETTLE.total_seconds())
        # Handlers project before returning; let them finish so the read model is
        # complete when the case sees the result.
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Queued projections and the case's last signal live only in this run: they
        # must be written and sent before it ends.
        await workflow.wait_condition(lambda: self._projector.idle and self._case_told)
        assert self._result is not None
        return self._result

    async def _start_up(self, inp: TaskInput) -> None:
        """The first run: start the clocks, compute the return window, tell the office."""
        failed: list[str] = []
        async with self._clocks.lock:
            why = await self._clock_change("start", lambda: self._clocks.start_on("dispatched"))
            failed += [why] if why else []
            try:
                window = await compute(
                    ClockActivities.compute_deadlines,
                    DeadlineRequest(start=self._dispatched_at, periods=[inp.plan.return_window]),
                    **compute_options(),
                )
                self._return_until = window.due[0]
            except ActivityError as e:  # bounded: returns stay open rather than none at all
                failed.append(f"return window: could not be computed ({e.cause or e})")
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
        for why in failed:
            await self._record("clock_failed", None, why)
        if not inp.assignment.external and patches.taken(patches.NEW_TASK_MAIL):
            await self._mail_new_task()

    # ---- continue-as-new (patches.TASK_CONTINUES_AS_NEW) -------------------------------

    @staticmethod
    def _run_is_long() -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= TASK_CONTINUE_AFTER
        )

    async def _continue_as_new(self, driver: asyncio.Task[None], inp: TaskInput) -> None:
        """This run's history is long: stop its clocks' driver (a rung being fired is
        fired first), let every handler finish and every projection and signal go out,
        then continue as new with the task's state. The next run's driver plans from
        the carried clocks, so a warning or rung due later fires there, once. Returns
        only if the task ended meanwhile: that run ends as any other."""
        self._continuing = True
        await driver
        # One predicate, so that all of it holds at once: nothing may start between the
        # check and the continue-as-new below (no await between them).
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and self._projector.idle
                and self._case_told
                and not self._mail_starting
            )
        )
        if self._result is not None:
            return
        workflow.logger.info(
            "task %s continues as new after %d events (run %d)",
            inp.task_id,
            workflow.info().get_current_history_length(),
            self._runs + 1,
        )
        workflow.continue_as_new(inp.model_copy(update={"carried": self._carry()}))

    async def _mail_new_task(self) -> None:
        """新工单: the office hears of its task at once when it is open (or the task is
        urgent), else at its next opening — if the task is still open then: an office
        that already signed for it or returned it at night needs no mail about it."""
        if not self._clocks.urgent:
            try:
                opens = await compute(
                    ClockActivities.office_time,
                    OfficeTimeRequest(at=workflow.now(), office_hours=self._office.office_hours),
                    **compute_options(),
                )
            except ActivityError as e:  # the calendar failed for good: mail now, not never
                workflow.logger.warning("office hours unknown for %s: %s", self._inp.task_id, e)
                opens = OfficeTimeResult(at=workflow.now())
            wait = (opens.at - workflow.now()).total_seconds()
            if wait > 0:
                # Waited here, not in the mail's own workflow: the mail then never
                # outlives a task that ended before the office opened.
                self._new_task_mail_at = opens.at  # carried if the run continues as new
                asyncio.create_task(self._mail_new_task_at_opening(wait))
                return
        self._new_task_mail = await self._started(self._notices.send_new_task(self._clock_list()))

    @staticmethod
    async def _started(start: Awaitable[Any | None]) -> asyncio.Future[Any] | None:
        handle = await start
        return None if handle is None else asyncio.ensure_future(handle)

    async def _mail_new_task_at_opening(self, wait: float) -> None:
        try:
            await workflow.wait_condition(
                # Continuing as new: the next run waits for the rest of the time.
                lambda: self._status is not TaskStatus.dispatched or self._continuing,
                timeout=wait,
            )
        except TimeoutError:
            self._mail_starting = True
            try:
                self._new_task_mail = await self._started(
                    self._notices.send_new_task(self._clock_list())
                )
            finally:
                self._mail_starting = False
            self._new_task_mail_at = None
            return
        if self._status is not TaskStatus.dispatched:
            self._new_task_mail_at = None  # signed for (or ended): no mail needed

    # ---- updates: handling ----------------------------------------------------

    @workflow.update
    @marks_update
    async def accept(self, inp: AcceptInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._clocks.lock:
            # Checked again under the lock: two updates in one activation both pass
            # validation before either handler runs.
            self._validate_accept(inp)
            self._status = TaskStatus.accepted
            self._accepted_at = workflow.now()
            self._clocks.stop_on("accepted", workflow.now())
            # The signing for stands even when the reply clock cannot start: the
            # office did sign; the timeline says which clock is missing.
            failed = await self._clock_change("start", lambda: self._clocks.start_on("accepted"))
        await self._record("accepted", inp.actor, f"签收 by {self._office.name}")
        if failed:
            await self._record("clock_failed", None, failed)
        return self._action_result()

    @accept.validator
    def _validate_accept(self, inp: AcceptInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("accept", TaskStatus.dispatched)

    @workflow.update
    @marks_update
    async def note(self, inp: NoteInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_note(inp)
        self._notes.append(inp.text)
        if patches.taken(patches.TASK_CONTINUES_AS_NEW):
            del self._notes[:-NOTES_KEPT]  # carried on continue-as-new: only the latest
        await self._record("note", inp.actor, inp.text)
        return self._action_result()

    @note.validator
    def _validate_note(self, inp: NoteInput) -> None:
        self._check_actor(inp.actor)
        self._check_status("add a note to", *OPEN)

    @workflow.update
    @marks_update
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
        self._check_opinions_in()

    # ---- updates: handing the task on (退单, transfer) ----------------------------

    @workflow.update(name="return")
    @marks_update
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
            raise reject(
                f"task {self._inp.task_id} was designated to {self._office.name} by a "
                "supervisor after a dispatch dispute; it cannot be returned again"
            )
        if self._return_until is not None and workflow.now() > self._return_until:
            raise reject(
                f"the return window ({self._inp.plan.return_window} after dispatch) closed at "
                f"{self._return_until:%Y-%m-%d %H:%M}; handle the task or transfer it"
            )
        if inp.owner not in self._inp.departments:
            raise reject(
                f"unknown owner department {inp.owner!r}; known: {', '.join(self._inp.departments)}"
            )

    @workflow.update
    @marks_update
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
            raise reject(
                f"unknown department {inp.department!r}; known: {', '.join(self._inp.departments)}"
            )
        if inp.region is not None and inp.region not in self._inp.regions:
            raise reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")
        region = inp.region or self._office.region
        if inp.department == self._office.department and region == self._office.region:
            raise reject("a transfer must name another department or region than the task's own")

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
