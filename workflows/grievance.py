"""GrievanceWorkflow: one case (诉求件) from intake to close. The workflow id is the case id.

intake → routing (recorded in history) → one DepartmentTaskWorkflow per office
→ reply to the worker once the lead and every co-handler have completed
→ callback (回访): unsatisfied reopens the lead task once → closed.
The worker may withdraw an open case at any point.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.routing import RoutingActivities
    from models.case import (
        CALLBACK_LABELS,
        CallbackInput,
        CallbackResult,
        CaseInput,
        CaseState,
        CaseStatus,
        SetPlanInput,
        UrgeInput,
        WithdrawInput,
    )
    from models.events import CaseProjection, ProjectionBatch
    from models.routing import (
        Assignment,
        OfficeKey,
        PlanRequest,
        ResolveOfficeRequest,
        RoutedCase,
        RouteRequest,
        RoutingDecision,
        RoutingFacts,
        TaskRole,
    )
    from models.sla import SlaPlan
    from models.tasks import (
        CancelInput,
        ChangePlanSignal,
        TaskInput,
        TaskResult,
        TaskState,
        TaskStatus,
        UrgeSignal,
    )
    from workflows.department_task import TASK_CHANGED_SIGNAL, DepartmentTaskWorkflow
    from workflows.policies import COMPUTE_RETRY, COMPUTE_TIMEOUT
    from workflows.projection import Projector

TERMINAL = (CaseStatus.closed, CaseStatus.withdrawn)


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidAction", non_retryable=True)


@workflow.defn
class GrievanceWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self._inp = inp
        self._case_id = inp.case_id
        self._status = CaseStatus.open
        self._opened_at = workflow.now()
        self._closed_at: datetime | None = None
        self._routed: RoutedCase | None = None
        self._decisions: list[RoutingDecision] = []
        self._tasks: dict[str, TaskState] = {}
        self._assignments: dict[str, Assignment] = {}
        self._open: dict[str, workflow.ChildWorkflowHandle[DepartmentTaskWorkflow, TaskResult]] = {}
        self._pending: list[TaskResult] = []
        self._results: list[TaskResult] = []
        self._excluded: list[OfficeKey] = []
        self._lead: TaskResult | None = None  # the lead task that completed last
        self._reply: str | None = None
        self._callback: CallbackResult | None = None
        self._reopened = False
        self._priority = 0
        self._plan: SlaPlan | None = None  # a supervisor's plan change wins over routing's
        self._seq = 0
        self._projector = Projector(workflow_id=inp.case_id, case_id=inp.case_id)

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        form = inp.intake
        await self._record(
            "opened",
            inp.opened_by,
            f"{form.category} via {form.channel.value}" + (" (urgent)" if form.urgent else ""),
            {"request_id": form.request_id, "sla_plan_override": form.sla_plan},
        )
        routed = await self._route([])
        self._routed = routed
        await self._record_decision("routed", routed.decision, inp.opened_by)
        await self._start_task(routed.decision.lead)
        for co in routed.decision.co:
            await self._start_task(co)

        while True:
            await workflow.wait_condition(
                lambda: bool(self._pending) or (self._status in TERMINAL and not self._open)
            )
            if not self._pending:
                break
            await self._handle(self._pending.pop(0))
            await self._maybe_reply()

        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    # ---- queries and signals -----------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return CaseState(
            case_id=self._case_id,
            status=self._status,
            category=self._inp.intake.category,
            opened_at=self._opened_at,
            routing=list(self._decisions),
            tasks=list(self._tasks.values()),
            results=list(self._results),
            reply=self._reply,
            callback=self._callback,
            reopened=self._reopened,
            priority=self._priority,
            sla_plan=self._current_plan().name if self._routed else None,
            closed_at=self._closed_at,
        )

    def _current_plan(self) -> SlaPlan:
        assert self._routed is not None
        return self._plan or self._routed.plan

    @workflow.signal(name=TASK_CHANGED_SIGNAL)
    def task_changed(self, task: TaskState) -> None:
        self._tasks[task.task_id] = task

    # ---- updates: clerk actions --------------------------------------------

    def _check_clerk(self, actor: str) -> None:
        clerks = self._routed.roster.clerks if self._routed else []
        if actor not in clerks:
            raise _reject(f"{actor} is not an intake clerk; see `appeals staff --role clerk`")

    @workflow.update
    async def callback(self, inp: CallbackInput) -> CaseState:
        self._validate_callback(inp)
        self._callback = inp.result
        label = CALLBACK_LABELS[inp.result]
        if inp.result is CallbackResult.unsatisfied and not self._reopened and self._lead:
            self._reopened = True
            self._status = CaseStatus.open
            await self._record(
                "callback",
                inp.actor,
                f"{label}: reopening the lead task",
                {"result": inp.result.value},
            )
            await self._start_task(self._assignments[self._lead.task_id], reopened=True)
        else:
            self._status = CaseStatus.closed
            self._closed_at = workflow.now()
            await self._record("callback", inp.actor, label, {"result": inp.result.value})
            await self._record("closed", None, f"closed after callback: {label}")
        return self.state()

    @callback.validator
    def _validate_callback(self, inp: CallbackInput) -> None:
        self._check_clerk(inp.actor)
        if self._status is not CaseStatus.awaiting_callback:
            raise _reject(
                f"case {self._case_id} is {self._status.value}; a callback is recorded only "
                "after the reply to the worker (awaiting_callback)"
            )

    @workflow.update
    async def withdraw(self, inp: WithdrawInput) -> CaseState:
        self._validate_withdraw(inp)
        self._status = CaseStatus.withdrawn
        self._closed_at = workflow.now()
        await self._record("withdrawn", inp.actor, inp.reason)
        for handle in list(self._open.values()):
            await handle.signal(DepartmentTaskWorkflow.cancel, CancelInput(reason=inp.reason))
        return self.state()

    @withdraw.validator
    def _validate_withdraw(self, inp: WithdrawInput) -> None:
        self._check_clerk(inp.actor)
        if self._status in TERMINAL:
            raise _reject(f"case {self._case_id} is already {self._status.value}")

    def _check_supervisor(self, actor: str) -> None:
        supervisors = self._routed.roster.supervisors if self._routed else []
        if actor not in supervisors:
            raise _reject(f"{actor} is not a supervisor; see `appeals staff --role supervisor`")

    @workflow.update
    async def urge(self, inp: UrgeInput) -> CaseState:
        """督办: recorded, e-mailed to every open task's office, raises the priority."""
        self._validate_urge(inp)
        self._priority += 1
        await self._record("urged", inp.actor, inp.text, {"priority": self._priority})
        for handle in list(self._open.values()):
            await handle.signal(
                DepartmentTaskWorkflow.urge,
                UrgeSignal(actor=inp.actor, text=inp.text, priority=self._priority),
            )
        return self.state()

    @urge.validator
    def _validate_urge(self, inp: UrgeInput) -> None:
        self._check_supervisor(inp.actor)
        if self._status in TERMINAL:
            raise _reject(f"case {self._case_id} is already {self._status.value}")

    @workflow.update
    async def set_plan(self, inp: SetPlanInput) -> CaseState:
        """Change the case's SLA plan mid-way (e.g. it turned out urgent); every open
        task keeps the time it has already spent."""
        self._validate_set_plan(inp)
        plan = await workflow.execute_activity_method(
            RoutingActivities.get_plan,
            PlanRequest(name=inp.plan),
            start_to_close_timeout=COMPUTE_TIMEOUT,
            retry_policy=COMPUTE_RETRY,
        )
        self._plan = plan
        await self._record(
            "plan_changed", inp.actor, f"→ {plan.name}: {inp.reason}", {"plan": plan.name}
        )
        for handle in list(self._open.values()):
            await handle.signal(
                DepartmentTaskWorkflow.change_plan,
                ChangePlanSignal(plan=plan, actor=inp.actor, reason=inp.reason),
            )
        return self.state()

    @set_plan.validator
    def _validate_set_plan(self, inp: SetPlanInput) -> None:
        roster = self._routed.roster if self._routed else None
        if roster is None or (
            inp.actor not in roster.supervisors and inp.actor not in roster.clerks
        ):
            raise _reject(f"{inp.actor} is neither a clerk nor a supervisor")
        if inp.plan not in roster.plans:
            raise _reject(f"unknown SLA plan {inp.plan!r}; plans: {', '.join(roster.plans)}")
        if self._status in TERMINAL:
            raise _reject(f"case {self._case_id} is already {self._status.value}")
        if inp.plan == self._current_plan().name:
            raise _reject(f"case {self._case_id} already runs on plan {inp.plan}")

    # ---- what happens when a task ends ---------------------------------------

    async def _handle(self, result: TaskResult) -> None:
        self._results.append(result)
        if result.status is TaskStatus.completed and result.role is TaskRole.lead:
            self._lead = result
        elif result.status is TaskStatus.returned and self._status not in TERMINAL:
            await self._reroute(result)
        elif result.status is TaskStatus.transferred and self._status not in TERMINAL:
            assert result.transfer_department and result.transfer_region
            assignment = await workflow.execute_activity_method(
                RoutingActivities.resolve_office,
                ResolveOfficeRequest(
                    department=result.transfer_department, region=result.transfer_region
                ),
                start_to_close_timeout=COMPUTE_TIMEOUT,
                retry_policy=COMPUTE_RETRY,
            )
            assignment = assignment.model_copy(update={"role": result.role})
            await self._record(
                "rerouted",
                result.actor,
                f"transfer from {result.department}@{result.region} → {assignment.office.name}",
            )
            await self._start_task(assignment)

    async def _reroute(self, returned: TaskResult) -> None:
        """A return (退单): route again without every office that has returned the case."""
        key = OfficeKey(department=returned.department, region=returned.region)
        if key not in self._excluded:
            self._excluded.append(key)
        routed = await self._route(self._excluded)
        await self._record_decision("rerouted", routed.decision, returned.actor)
        if returned.role is TaskRole.lead:
            await self._start_task(routed.decision.lead)
            return
        busy = {a.office.key for tid, a in self._assignments.items() if tid in self._open}
        for co in routed.decision.co:
            if co.office.department == returned.department and co.office.key not in busy:
                await self._start_task(co)
                return
        await self._record("co_dropped", None, f"no other office for {returned.department}")

    async def _maybe_reply(self) -> None:
        if self._status is not CaseStatus.open or self._open or self._lead is None:
            return
        self._reply = self._lead.reply
        self._status = CaseStatus.awaiting_callback
        outcome = self._lead.outcome.value if self._lead.outcome else ""
        await self._record("replied", self._lead.actor, self._reply, {"outcome": outcome})

    # ---- helpers ---------------------------------------------------------------

    async def _route(self, exclude: list[OfficeKey]) -> RoutedCase:
        form = self._inp.intake
        facts = RoutingFacts(
            category=form.category,
            occupation=form.occupation,
            platform=form.platform,
            summary=form.summary,
            residence=form.residence,
            workplace=form.workplace,
            incident=form.incident,
        )
        return await workflow.execute_activity_method(
            RoutingActivities.route_case,
            RouteRequest(
                facts=facts,
                exclude=list(exclude),
                sla_plan_override=form.sla_plan,
                urgent=form.urgent,
            ),
            start_to_close_timeout=COMPUTE_TIMEOUT,
            retry_policy=COMPUTE_RETRY,
        )

    async def _start_task(self, assignment: Assignment, *, reopened: bool = False) -> None:
        assert self._routed is not None
        self._seq += 1
        task_id = f"{self._case_id}-T{self._seq}"
        form = self._inp.intake
        plan = self._current_plan()
        roster = self._routed.roster
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
                summary=form.summary,
                plan=plan,
                urgent=form.urgent or plan.name == "urgent",
                priority=self._priority,
                reopened=reopened,
                departments=roster.departments,
                regions=roster.regions,
                clerks=roster.clerks,
                supervisors=roster.supervisors,
            ),
            id=task_id,
        )
        self._assignments[task_id] = assignment
        self._open[task_id] = handle
        asyncio.create_task(self._watch(task_id, handle))

    async def _watch(
        self, task_id: str, handle: workflow.ChildWorkflowHandle[DepartmentTaskWorkflow, TaskResult]
    ) -> None:
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

    async def _record_decision(self, action: str, d: RoutingDecision, actor: str | None) -> None:
        self._decisions.append(d)
        offices = [d.lead.office.name] + [c.office.name for c in d.co]
        await self._record(
            action,
            actor,
            f"rule {d.rule_id} (rules {d.rules_version}), plan {d.sla_plan}: "
            f"主办 {offices[0]}" + (f"; 协办 {', '.join(offices[1:])}" if d.co else ""),
            {"rule": d.rule_id, "rules_version": d.rules_version, "explanation": d.explanation},
        )

    def _projection(self) -> CaseProjection:
        form = self._inp.intake
        d = self._decisions[-1] if self._decisions else None
        return CaseProjection(
            case_id=self._case_id,
            version=self._projector.bump(),
            status=self._status.value,
            request_id=form.request_id,
            category=form.category,
            occupation=form.occupation.value,
            platform=form.platform,
            channel=form.channel.value,
            urgent=form.urgent,
            name=form.name,
            phone=form.phone,
            id_number=form.id_number,
            summary=form.summary,
            residence=form.residence,
            workplace=form.workplace,
            incident=form.incident,
            opened_at=self._opened_at,
            sla_plan=(self._plan.name if self._plan else d.sla_plan) if d else None,
            rule_id=d.rule_id if d else None,
            rules_version=d.rules_version if d else None,
            routing_explanation="\n".join(d.explanation) if d else None,
            lead_department=d.lead.office.department if d else None,
            lead_region=d.lead.office.region if d else None,
            reply=self._reply,
            callback=self._callback.value if self._callback else None,
            priority=self._priority,
            closed_at=self._closed_at,
        )

    async def _record(
        self,
        action: str,
        actor: str | None,
        detail: str | None,
        data: dict[str, object] | None = None,
    ) -> None:
        event = self._projector.event(action, actor=actor, detail=detail, data=data)
        await self._projector.write(ProjectionBatch(case=self._projection(), events=[event]))
