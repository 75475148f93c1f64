"""GrievanceWorkflow: one case (诉求件) from intake to close. The workflow id is the case id.

intake → routing (recorded in history) → one DepartmentTaskWorkflow per office:
the lead (主办), co-handlers (协办) and, when the rule asks, the platform's liaison
→ the lead replies once every opinion is in (or a supervisor lets it proceed)
→ callback (回访): unsatisfied reopens the lead task once → closed.
A return (退单) re-routes the case, to the returning office's suggested owner when
the rules allow; a second return, or one that would send the case back to an office
that returned it, puts it in dispatch review (派单异议审核), where a supervisor
designates the owner. The worker may withdraw an open case at any point.

This module holds the workflow itself: its run, the tasks' signals and the clerks'
updates (callback, withdraw). The rest comes from case_base.py (state, the state
query, validators' building blocks, the reply, routing, the audit record),
case_dispatch.py (starting tasks and what follows when one ends) and
case_supervision.py (督办, plan changes, proceed, designation).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.case import (
        CALLBACK_LABELS,
        CallbackInput,
        CallbackResult,
        CaseAck,
        CaseInput,
        CaseState,
        CaseStatus,
        WithdrawInput,
    )
    from models.routing import TaskRole
    from models.tasks import AddCohandlerSignal, TaskChanged
    from workflows.department_task import ADD_COHANDLER_SIGNAL, TASK_CHANGED_SIGNAL

from workflows import patches
from workflows.after_commit import marks_update
from workflows.case_base import TERMINAL, reject
from workflows.case_repeats import CaseRepeats
from workflows.case_supervision import CaseSupervision
from workflows.compute import decide_patches_first

__all__ = ["TERMINAL", "GrievanceWorkflow"]

# How long a new case whose routing timed out waits before asking the rules again
# (patches.ROUTE_UNTIL_ROUTED); each ask then has COMPUTE_GIVE_UP of its own.
ROUTE_AGAIN = timedelta(seconds=30)


@workflow.defn
class GrievanceWorkflow(CaseRepeats, CaseSupervision):
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self._setup(inp)

    # ---- run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        decide_patches_first()
        form = inp.intake
        await self._record(
            "opened",
            inp.opened_by,
            f"{form.category} via {form.channel.value}" + (" (urgent)" if form.urgent else ""),
            {"request_id": form.request_id, "sla_plan_override": form.sla_plan},
        )
        routed = await self._route([])
        if routed is None and self._route_timed_out and patches.taken(patches.ROUTE_UNTIL_ROUTED):
            # Nobody answered in time (workers killed, catching up, or waiting for the
            # database): that is no reason to drop a grievance. Ask again until they do.
            await self._record(
                "routing_delayed", None, "the routing rules did not answer; asking again"
            )
            while routed is None and self._route_timed_out:
                await workflow.sleep(ROUTE_AGAIN)
                routed = await self._route([])
        if routed is None:
            raise ApplicationError("the case could not be routed", non_retryable=True)
        self._routed = routed
        d = routed.decision
        await self._record_decision("routed", d, inp.opened_by)
        helpers = [*d.co, *([d.liaison] if d.liaison else [])]
        await self._start_task(d.lead, awaiting=[a.office.name for a in helpers])
        for co in routed.decision.co:
            await self._start_task(co)
        if routed.decision.liaison is not None:
            await self._start_task(routed.decision.liaison)
        await self._sync_co_status()
        # -- clusters (case_repeats.py): a routed case joins its clusters (集中诉求) --
        if patches.taken(patches.CLUSTER_FEED):
            await self._join_clusters()
        self._reacting = False

        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self._pending)
                    or bool(self._co_requests)
                    or (self._status in TERMINAL and not self._open)
                )
            )
            # One thing at a time, in the order it came: a co-handler request is
            # settled (and the lead told) before any later task result is handled.
            if not self._pending and not self._co_requests:
                break
            self._reacting = True
            if self._co_requests:
                await self._take_cohandler_request(self._co_requests.pop(0))
            else:
                await self._handle(self._pending.pop(0))
            await self._sync_co_status()
            await self._maybe_reply()
            self._reacting = False

        await workflow.wait_condition(workflow.all_handlers_finished)
        # Queued projections live only in this run: they must be written before it ends.
        await workflow.wait_condition(lambda: self._projector.idle)
        return self.state()

    # ---- signals from the tasks ---------------------------------------------------

    @workflow.signal(name=TASK_CHANGED_SIGNAL)
    def task_changed(self, task: TaskChanged) -> None:
        """A task's new status (a whole TaskState from tasks older than
        patches.TASK_TELLS_STATUS, read as its id and status)."""
        known = self._tasks.get(task.task_id)
        if known is None or task.version >= known.version:
            self._tasks[task.task_id] = task

    @workflow.signal(name=ADD_COHANDLER_SIGNAL)
    async def add_cohandler(self, inp: AddCohandlerSignal) -> None:
        """The lead asked for another co-handler (its update validated the request)."""
        if patches.taken(patches.COHANDLER_REQUESTS_QUEUED):
            # Resolving the office here, beside the run loop, raced the lead's reply:
            # the case could reply without this opinion, then start an orphan task.
            self._co_requests.append(inp)
            return
        if self._status is not CaseStatus.open:
            return
        assignment = await self._resolve(inp.department, inp.region, TaskRole.co)
        if assignment is None:
            await self._record(
                "cohandler_refused", inp.actor, f"{inp.department}@{inp.region}: no such office"
            )
            return
        self._proceed = False  # the lead now waits for this opinion too
        await self._record("cohandler_added", inp.actor, f"{assignment.office.name}: {inp.reason}")
        await self._start_task(assignment)
        await self._sync_co_status()

    async def _take_cohandler_request(self, inp: AddCohandlerSignal) -> None:
        refusal = None
        if self._status is not CaseStatus.open:
            refusal = f"the case is {self._status.value}"
        elif inp.task_id not in self._open:
            refusal = f"the lead task {inp.task_id} has ended"
        else:
            assignment = await self._resolve(inp.department, inp.region, TaskRole.co)
            handling = {self._assignments[t].office.key for t in self._open}
            if assignment is None:
                refusal = "no such office"
            elif assignment.office.key in handling:
                # Another department@region can land on an office already at work.
                refusal = f"{assignment.office.name} already handles this case"
            else:
                self._proceed = False  # the lead now waits for this opinion too
                await self._record(
                    "cohandler_added", inp.actor, f"{assignment.office.name}: {inp.reason}"
                )
                await self._start_task(assignment)
        if refusal is not None:
            await self._record(
                "cohandler_refused", inp.actor, f"{inp.department}@{inp.region}: {refusal}"
            )
        if inp.request_id is not None:
            self._co_taken.append(inp.request_id)

    # ---- updates: clerks ---------------------------------------------------------

    @workflow.update
    @marks_update
    async def callback(self, inp: CallbackInput) -> CaseAck | CaseState:
        self._validate_callback(inp)
        self._callback = inp.result
        self._callback_remark = inp.remark or None
        self._callback_due = None  # the callback clock stops
        label = CALLBACK_LABELS[inp.result]
        said = f" — {inp.remark}" if inp.remark else ""
        data: dict[str, object] = {"result": inp.result.value, "remark": inp.remark or None}
        if inp.result is CallbackResult.unsatisfied and not self._reopened and self._lead:
            self._reopened = True
            self._status = CaseStatus.open
            await self._record(
                "callback", inp.actor, f"{label}: reopening the lead task{said}", data
            )
            await self._start_task(self._assignments[self._lead.task_id], reopened=True)
        else:
            self._status = CaseStatus.closed
            self._closed_at = workflow.now()
            await self._record("callback", inp.actor, f"{label}{said}", data)
            await self._record("closed", None, f"closed after callback: {label}")
            await self._cancel_open("case closed")  # a late co-handler's task ends here
        return self._answer()

    @callback.validator
    def _validate_callback(self, inp: CallbackInput) -> None:
        self._check_clerk(inp.actor)
        if self._status is not CaseStatus.awaiting_callback:
            raise reject(
                f"case {self._case_id} is {self._status.value}; a callback is recorded only "
                "after the reply to the worker (awaiting_callback)"
            )

    @workflow.update
    @marks_update
    async def withdraw(self, inp: WithdrawInput) -> CaseAck | CaseState:
        self._validate_withdraw(inp)
        self._status = CaseStatus.withdrawn
        self._closed_at = workflow.now()
        await self._record("withdrawn", inp.actor, inp.reason)
        # Tasks started while this ran are cancelled by _start_task itself.
        await self._cancel_open(inp.reason)
        return self._answer()

    @withdraw.validator
    def _validate_withdraw(self, inp: WithdrawInput) -> None:
        self._check_clerk(inp.actor)
        self._check_active()
