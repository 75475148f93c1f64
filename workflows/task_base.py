"""The department task's state and what its handlers share: set-up, the state query,
the validators' building blocks, closing the task and recording what happened.

DepartmentTaskWorkflow (department_task.py) is this base plus the handler mixins in
task_clock_actions.py (pauses, extensions, plan changes, 督办, clocks firing) and
task_answers.py (co-handling and the answers of external hotlines and liaisons).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from models.events import AuditEvent, ProjectionBatch, TaskProjection
    from models.notify import Notification
    from models.sla import ClockState
    from models.tasks import (
        MOVING_ON,
        ActionResult,
        CoStatus,
        TaskCarry,
        TaskChanged,
        TaskInput,
        TaskResult,
        TaskState,
        TaskStatus,
    )
    from workflows.notices import Notices
    from workflows.projection import Projector
    from workflows.task_clocks import TaskClocks
    from workflows.task_projection import task_projection

from workflows import patches
from workflows.after_commit import accepting_update

TASK_CHANGED_SIGNAL = "task_changed"
ADD_COHANDLER_SIGNAL = "add_cohandler"
OPEN = (TaskStatus.dispatched, TaskStatus.accepted, TaskStatus.waiting_on_worker)
# The notes a task keeps in its state (its query shows them; patches.TASK_CONTINUES_AS_NEW):
# the timeline (the read model's events) keeps every one.
NOTES_KEPT = 20


def reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidAction", non_retryable=True)


class TaskBase:
    """One office's task: its state, the state query and the helpers every handler uses."""

    def _setup(self, inp: TaskInput) -> None:
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
        self._co_asked: dict[str, str] = {}  # add-cohandler request id → department@region
        self._clocks = TaskClocks(
            inp.plan.clocks,
            role=inp.role.value,
            plan=inp.plan.name,
            office_hours=self._office.office_hours,
            urgent=inp.urgent,
        )
        self._projector = Projector(workflow_id=inp.task_id, case_id=inp.case_id)
        # patches.ANSWER_CARRIES_PROJECTION: by Update id, what each Update accepted in
        # this workflow task projected and since which version, for its answer (dropped
        # by after_commit.marks_update if the Update fails); and the last projection.
        self._answers: dict[str, tuple[ProjectionBatch, int | None]] = {}
        self._projected: TaskProjection | None = None
        self._case_stale = False
        self._telling = False
        self._teller: asyncio.Task[None] | None = None
        self._notices = Notices(inp, queue=self._queue_mail)
        # patches.TASK_TELLS_STATUS: the case hears only of status changes; this is the
        # status it was last told of (None: not told yet).
        self._tells_status = False
        self._status_told: TaskStatus | None = None
        # patches.TASK_CONTINUES_AS_NEW: runs before this one; this run is winding down
        # to continue as new (its clocks' driver stops; the next run's takes over).
        self._runs = 0
        self._continuing = False
        self._new_task_mail_at: datetime | None = None  # waits for the office to open
        self._mail_starting = False
        if inp.carried is not None:
            self._resume(inp.carried)

    def _resume(self, c: TaskCarry) -> None:
        """Take up the state a previous run carried over (continue-as-new): everything
        was projected and told to the case before that run ended."""
        self._runs = c.runs
        self._status = c.status
        self._dispatched_at = c.dispatched_at
        self._accepted_at = c.accepted_at
        self._return_until = c.return_until
        self._priority = c.priority
        self._notes = list(c.notes)
        self._co = c.co
        self._co_asked = dict(c.co_asked)
        self._clocks.clocks = {clock.name: clock for clock in c.clocks}
        self._clocks.urgent = c.urgent
        self._clocks.noted = set(c.noted)
        self._projector.resume(events=c.events, version=c.version)
        self._status_told = c.told
        self._tells_status = c.told is not None
        self._new_task_mail_at = c.new_task_mail_at
        # Taken by the previous run: taken here too, without markers (patches.taken).
        self.inherited_patches = frozenset(c.patches)
        self._ready = True

    def _carry(self) -> TaskCarry:
        return TaskCarry(
            runs=self._runs + 1,
            status=self._status,
            dispatched_at=self._dispatched_at,
            accepted_at=self._accepted_at,
            return_until=self._return_until,
            priority=self._priority,
            notes=self._notes[-NOTES_KEPT:],
            co=self._co,
            co_asked=dict(self._co_asked),
            clocks=self._clock_list(),
            urgent=self._clocks.urgent,
            noted=sorted(self._clocks.noted),
            events=self._projector.numbered,
            version=self._projector.version,
            told=self._status_told,
            new_task_mail_at=self._new_task_mail_at,
            patches=[p for p in patches.ALL if patches.taken(p)],
        )

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
            waiting_for=[*self._co.pending, *(f"{k} (asked for)" for k in self._co_asking())],
            may_proceed=self._co.proceed,
            opinions=list(self._co.opinions),
        )

    # ---- validators' building blocks ------------------------------------------

    def _check_actor(self, actor: str) -> None:
        if actor not in self._office.handlers:
            raise reject(
                f"{actor} is not a handler of {self._office.name}; "
                f"handlers: {', '.join(self._office.handlers) or 'none'}"
            )

    def _check_moving(self) -> None:
        """Refuse a new action while this run winds down to continue as new.

        Only as a validator (read-only), never when a handler checks again: an action
        accepted before the run began to wind down goes on as it always did. Without it,
        actions sent back to back kept the run from continuing (it waits until none is in
        flight), its clocks stopped, for as long as they came."""
        if self._continuing and workflow.unsafe.is_read_only():
            raise ApplicationError(
                f"task {self._inp.task_id} is moving to a new run; send the action again",
                type=MOVING_ON,
                non_retryable=True,
            )

    def _check_status(self, action: str, *allowed: TaskStatus) -> None:
        self._check_moving()
        if self._status not in allowed:
            wanted = " or ".join(s.value for s in allowed)
            raise reject(
                f"cannot {action} task {self._inp.task_id}: it is {self._status.value}, "
                f"not {wanted}"
            )

    def _check_clock(self, name: str) -> ClockState:
        clock = self._clocks.clocks.get(name)
        if clock is None:
            raise reject(
                f"task {self._inp.task_id} has no clock {name!r}; clocks: "
                f"{', '.join(self._clocks.clocks)}"
            )
        return clock

    # ---- helpers -------------------------------------------------------------

    def _co_asking(self) -> list[str]:
        """Co-handlers this lead asked for that the case has not taken yet."""
        return [k for r, k in self._co_asked.items() if r not in self._co.requests_taken]

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
        update = workflow.current_update_info()
        answer = self._answers.pop(update.id, None) if update else None
        return ActionResult(
            task_id=self._inp.task_id,
            status=self._status,
            version=self._projector.version,
            projection=answer[0] if answer else None,
            clocks_since=answer[1] if answer else None,
        )

    def _keep_for_answer(self, projection: TaskProjection, events: list[AuditEvent]) -> None:
        """Keep what the Update being accepted projects, for its answer: the API writes it
        once the answer (and so the workflow task, and the Update in the history) is in.

        The answer holds the row and only the clocks changed since the projection
        before it (all of them when the status changed, or when there is none before):
        a note's answer then holds no clock, and the history does not take every
        clock's ledger once more with every action. It says since which version
        (``clocks_since``), and the API writes it only over that version
        (activities.store.write_answer)."""
        before, self._projected = self._projected, projection
        update = workflow.current_update_info()
        if update is None or not accepting_update():
            return
        if not patches.taken(patches.ANSWER_CARRIES_PROJECTION):
            return
        clocks, since = projection.deadlines, None
        if before is not None and before.status == projection.status:
            clocks = [d for d in clocks if d not in before.deadlines]
            since = before.version
        held = self._answers.get(update.id)
        if held is not None:  # a second projection in the same action: the changes add up
            (first, first_since), newer = held, {d.clock for d in clocks}
            assert first.task is not None
            clocks = [*[d for d in first.task.deadlines if d.clock not in newer], *clocks]
            since = first_since if since is not None and first_since is not None else None
            events = [*first.events, *events]
        answer = projection.model_copy(update={"deadlines": clocks})
        self._answers[update.id] = (ProjectionBatch(task=answer, events=events), since)

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
        await self._project([event])

    async def _queue_mail(self, n: Notification) -> None:
        """Queue ``n`` with the projection (patches.MAIL_THROUGH_OUTBOX): the same write,
        usually, as the timeline row that says why it was sent."""
        await self._projector.write(ProjectionBatch(mails=[n]))

    @workflow.query
    def projection(self) -> ProjectionBatch:
        """The task's row as the read model should hold it now (``appeals reconcile``)."""
        return ProjectionBatch(task=self._task_projection(self._projector.version))

    def _task_projection(self, version: int) -> TaskProjection:
        return task_projection(
            self.state(), self._inp, self._office, version=version, priority=self._priority
        )

    async def _project(self, events: list[AuditEvent]) -> None:
        """Write the task's new state (and ``events``, if any), then tell the case."""
        projection = self._task_projection(self._projector.bump())
        self._keep_for_answer(projection, events)
        version = await self._projector.write(ProjectionBatch(task=projection, events=events))
        if patches.taken(patches.TASK_TELLS_STATUS):
            # The case holds only each task's status: a note, an extension or a clock
            # event changes nothing it needs, so it is not told of them.
            self._tells_status = True
            if self._status_told is not self._status:
                self._status_told = self._status
                self._tell_case()
        elif patches.taken(patches.CASE_TOLD_IN_BACKGROUND):
            self._tell_case()
        else:
            parent = workflow.get_external_workflow_handle(self._inp.case_id)
            await parent.signal(TASK_CHANGED_SIGNAL, self.state())
        await self._projector.settle(version)  # the case hears first: it needs no SQL

    # ---- telling the case (patches.CASE_TOLD_IN_BACKGROUND) ------------------------------

    def _tell_case(self) -> None:
        """Mark the case's view of this task stale; one sender brings it up to date,
        in order, sending the state as it is when the signal goes (so a burst of
        changes costs one or two signals, never a stale one last)."""
        self._case_stale = True
        if self._teller is None:
            self._teller = asyncio.create_task(self._tell_loop())

    async def _tell_loop(self) -> None:
        parent = workflow.get_external_workflow_handle(self._inp.case_id)
        while True:
            await workflow.wait_condition(lambda: self._case_stale)
            self._case_stale = False
            self._telling = True
            news: TaskChanged | TaskState = (
                TaskChanged(
                    task_id=self._inp.task_id, status=self._status, version=self._projector.version
                )
                if self._tells_status
                else self.state()
            )
            try:
                await parent.signal(TASK_CHANGED_SIGNAL, news)
            except FailureError as e:  # the case has ended: nobody is left to tell
                workflow.logger.info("case %s did not take the signal: %s", self._inp.case_id, e)
            finally:
                self._telling = False

    @property
    def _case_told(self) -> bool:
        """The case has heard every change (checked before the task's run returns)."""
        return not self._case_stale and not self._telling
