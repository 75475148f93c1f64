"""The case's dispatch logic: starting and watching its tasks, and what happens when
one ends — returns (退单) and their re-routing, transfers, co-handler replacements,
dispatch review (派单异议审核) and its overdue notice, and lead restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from models.case import CaseStatus, ReturnRecord
    from models.notify import Notification, NotificationKind, Recipient
    from models.routing import Assignment, OfficeKey, TaskRole
    from models.sla import DeadlineRequest
    from models.tasks import CancelInput, TaskInput, TaskResult, TaskStatus
    from workflows.department_task import DepartmentTaskWorkflow
    from workflows.notification import NotificationWorkflow

from workflows import patches
from workflows.case_base import MAX_LEAD_RESTARTS, MAX_RECEIPTS, TERMINAL, CaseBase, TaskHandle
from workflows.compute import compute, compute_options


class CaseDispatch(CaseBase):
    """Starts the case's tasks and decides what follows when one of them ends."""

    # ---- what happens when a task ends ---------------------------------------

    async def _handle(self, result: TaskResult) -> None:
        self._results.append(result)
        live = self._status not in TERMINAL
        if result.status is TaskStatus.completed:
            if result.role is TaskRole.lead:
                self._lead = result
        elif result.status is TaskStatus.returned and live:
            await self._after_return(result)
        elif result.status is TaskStatus.transferred and live:
            assert result.transfer_department and result.transfer_region
            a = await self._resolve(result.transfer_department, result.transfer_region, result.role)
            if a is None:
                await self._enter_review(
                    f"transfer target {result.transfer_department}@"
                    f"{result.transfer_region} has no office"
                )
                return
            await self._record(
                "rerouted",
                result.actor,
                f"transfer from {result.department}@{result.region} → {a.office.name}",
            )
            await self._start_task(a)
        elif (
            result.status is TaskStatus.cancelled
            and live
            and result.role is TaskRole.lead
            and result.task_id not in self._superseded
        ):
            await self._restart_lead(result)

    async def _after_return(self, returned: TaskResult) -> None:
        """A return (退单): re-route, or — on a second return, or one that would send the
        case back to an office that returned it — stop and ask a supervisor."""
        key = OfficeKey(department=returned.department, region=returned.region)
        if key not in self._excluded:
            self._excluded.append(key)
        self._returns.append(
            ReturnRecord(
                task_id=returned.task_id,
                department=returned.department,
                region=returned.region,
                owner=returned.owner,
                actor=returned.actor,
                reason=returned.reason,
            )
        )
        if returned.role is not TaskRole.lead:
            await self._replace_cohandler(returned)
            return
        lead_returns = sum(
            1 for r in self._returns if self._assignments[r.task_id].role is TaskRole.lead
        )
        if lead_returns >= 2:
            await self._enter_review("second return of this case")
            return
        routed = await self._route(
            self._excluded, prefer=returned.owner, prefer_region=returned.region, again=True
        )
        if routed is None:
            await self._enter_review("the rules could not route the case again")
            return
        lead = routed.decision.lead
        if lead.office.key in self._excluded or self._needs_designation(lead):
            await self._enter_review(f"re-routing would send it back to {lead.office.name}")
            return
        await self._record_decision("rerouted", routed.decision, returned.actor)
        await self._start_task(lead)

    async def _replace_cohandler(self, returned: TaskResult) -> None:
        """A co-handler returned: its suggested owner co-handles instead, or the rules'
        co-handler of the same department at another office, or nobody."""
        candidates: list[Assignment] = []
        if returned.owner:
            owner = await self._resolve(returned.owner, returned.region, TaskRole.co)
            candidates += [owner] if owner else []
        routed = await self._route(self._excluded, again=True)
        candidates += [
            c
            for c in (routed.decision.co if routed else [])
            if c.office.department == returned.department
        ]
        busy = {a.office.key for t, a in self._assignments.items() if t in self._open}
        for co in candidates:
            if co.office.key not in busy and co.office.key not in self._excluded:
                await self._record("rerouted", returned.actor, f"协办 → {co.office.name}")
                await self._start_task(co)
                return
        await self._record("co_dropped", None, f"no other office for {returned.department}")

    @staticmethod
    def _needs_designation(a: Assignment) -> bool:
        if patches.taken(patches.DESIGNATION_FIELD):
            return a.needs_designation
        # Decisions recorded before the field existed said it only in words.
        return bool(a.fallback_reason and "designate" in a.fallback_reason)

    async def _enter_review(self, why: str) -> None:
        """派单异议审核: no more automatic re-routing; a supervisor designates the owner
        within the plan's review period, or 社会工作部 hears about it."""
        try:
            due: datetime | None = (
                await compute(
                    ClockActivities.compute_deadlines,
                    DeadlineRequest(start=workflow.now(), periods=[self._current_plan().review]),
                    **compute_options(),
                )
            ).due[0]
        except ActivityError as e:  # bounded: the review opens without a due time
            due, failed = None, f"review due time could not be computed ({e.cause or e})"
        if any(self._assignments[t].role is TaskRole.lead for t in self._open):
            return  # a supervisor designated an owner while we computed the due time
        # Status and due time change together, so nobody sees a review without its due
        # (none only when it could not be computed, and then the timeline says so).
        self._status, self._review_due = CaseStatus.in_review, due
        self._reviews += 1
        if due is None:
            await self._record("in_review", None, f"{why}; a supervisor designates the owner")
            await self._record("clock_failed", None, failed)
            return
        await self._record(
            "in_review",
            None,
            f"{why}; a supervisor designates the owner by {due:%Y-%m-%d %H:%M}",
        )
        asyncio.create_task(self._watch_review(due, self._reviews))

    async def _watch_review(self, due: datetime, review: int) -> None:
        try:
            await workflow.wait_condition(
                lambda: self._status is not CaseStatus.in_review or self._review_due != due,
                timeout=max((due - workflow.now()).total_seconds(), 0.001),
            )
        except TimeoutError:
            await self._record(
                "review_overdue", None, f"no owner designated by {due:%Y-%m-%d %H:%M}"
            )
            await self._notify_review_overdue(due, review)

    async def _notify_review_overdue(self, due: datetime, review: int) -> None:
        """社会工作部 hears of a dispatch dispute nobody has settled in time."""
        assert self._routed is not None
        contacts = self._routed.decision.lead.contacts
        if contacts is None or not contacts.supervision:
            return
        # The mail's workflow id is the notice id: a reused id means no mail at all.
        if patches.taken(patches.REVIEW_NOTICE_PER_REVIEW):
            notice_id = f"{self._case_id}:review-{review}"
        else:
            notice_id = f"{self._case_id}:review:{len(self._returns)}"
        n = Notification(
            id=notice_id,
            kind=NotificationKind.info,
            event="review-overdue",
            case_id=self._case_id,
            to=[Recipient(address=contacts.supervision, role="supervision")],
            urgent=True,
            context={
                "office_name": "派单异议审核",
                "category_label": self._routed.category_label,
                "headline": "派单异议审核超时，请指定承办单位",
                "text": f"诉求 {self._case_id} 已两次退单或无法自动改派，审核时限 "
                f"{due:%Y-%m-%d %H:%M} 已过，尚未指定承办单位。",
            },
            created_at=workflow.now(),
        )
        try:
            await workflow.start_child_workflow(
                NotificationWorkflow.run,
                n,
                id=f"mail-{n.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass

    async def _restart_lead(self, result: TaskResult) -> None:
        """A lead task that failed or was cancelled by an operator: the case must not
        wait forever for it. Start it again; after that, ask a supervisor."""
        if self._lead_restarts >= MAX_LEAD_RESTARTS:
            await self._enter_review(f"the lead task ended without an answer ({result.reason})")
            return
        self._lead_restarts += 1
        await self._record("lead_restarted", None, f"{result.task_id}: {result.reason}")
        await self._start_task(self._assignments[result.task_id])

    # ---- starting and watching tasks -----------------------------------------------

    async def _start_task(
        self,
        assignment: Assignment,
        *,
        reopened: bool = False,
        designated: bool = False,
        awaiting: list[str] | None = None,
    ) -> None:
        assert self._routed is not None
        if self._status in TERMINAL:
            return  # withdrawn while we were deciding: no new task
        office = assignment.office
        if not reopened and self._received.get(office.id, 0) >= MAX_RECEIPTS:
            # No office gets the same case a third time: that is ping-pong (推诿).
            if assignment.role is TaskRole.lead:
                await self._enter_review(f"{office.name} has already had this case twice")
            else:
                await self._record("co_dropped", None, f"{office.name} already had it twice")
            return
        self._received[office.id] = self._received.get(office.id, 0) + 1
        self._seq += 1
        task_id = f"{self._case_id}-T{self._seq}"
        form, roster = self._inp.intake, self._routed.roster
        plan = self._current_plan()
        special = (
            "platform_liaison"
            if assignment.role is TaskRole.liaison
            else "external_handoff"
            if assignment.external
            else None
        )
        if special and special in self._routed.special_plans:
            # A drill stays a drill: its hand-offs and liaison tasks run on minutes too,
            # rather than escalating for real days later.
            if not (plan.name == "drill" and patches.taken(patches.DRILL_SPECIAL_TASKS)):
                plan = self._routed.special_plans[special]
        handle = await workflow.start_child_workflow(
            DepartmentTaskWorkflow.run,
            TaskInput(
                case_id=self._case_id,
                task_id=task_id,
                seq=self._seq,
                role=assignment.role,
                assignment=assignment,
                category=form.category,
                category_label=self._routed.category_label,
                summary=self._for_others(form.summary),
                plan=plan,
                urgent=form.urgent or plan.name == "urgent" or self._priority > 0,
                priority=self._priority,
                reopened=reopened,
                designated=designated,
                awaiting=awaiting or [],
                departments=roster.departments,
                regions=roster.regions,
                clerks=roster.clerks,
                supervisors=roster.supervisors,
            ),
            id=task_id,
        )
        self._assignments[task_id] = assignment
        if designated:
            self._designated.add(task_id)
        self._open[task_id] = handle
        asyncio.create_task(self._watch(task_id, handle))
        if self._status in TERMINAL:  # withdrawn while the child was starting
            await self._tell(
                task_id, DepartmentTaskWorkflow.cancel, CancelInput(reason="case withdrawn")
            )

    async def _watch(self, task_id: str, handle: TaskHandle) -> None:
        try:
            result = await handle
        except ChildWorkflowError as e:
            # A task that failed (a bug, or terminated by an operator) must not
            # leave the case waiting forever: treat it as cancelled and say so.
            a = self._assignments[task_id]
            workflow.logger.error("task %s failed: %s", task_id, e)
            result = TaskResult(
                task_id=task_id,
                role=a.role,
                status=TaskStatus.cancelled,
                department=a.office.department,
                region=a.office.region,
                reason=f"task workflow failed: {e.cause or e}",
            )
        del self._open[task_id]
        self._pending.append(result)
