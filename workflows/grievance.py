"""GrievanceWorkflow: one case (诉求件) from intake to close. The workflow id is the case id.

intake → routing (recorded in history) → one DepartmentTaskWorkflow per office:
the lead (主办), co-handlers (协办) and, when the rule asks, the platform's liaison
→ the lead replies once every opinion is in (or a supervisor lets it proceed)
→ callback (回访): unsatisfied reopens the lead task once → closed.
A return (退单) re-routes the case, to the returning office's suggested owner when
the rules allow; a second return, or one that would send the case back to an office
that returned it, puts it in dispatch review (派单异议审核), where a supervisor
designates the owner. The worker may withdraw an open case at any point.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from activities.routing import RoutingActivities
    from models.case import (
        CALLBACK_LABELS,
        CallbackInput,
        CallbackResult,
        CaseInput,
        CaseState,
        CaseStatus,
        DesignateInput,
        ProceedInput,
        ReturnRecord,
        SetPlanInput,
        UrgeInput,
        WithdrawInput,
    )
    from models.events import ProjectionBatch
    from models.notify import Notification, NotificationKind, Recipient
    from models.routing import (
        Assignment,
        OfficeKey,
        PlanRequest,
        ResolveOfficeRequest,
        RoutedCase,
        RouteRequest,
        RoutingDecision,
        TaskRole,
    )
    from models.sla import DeadlineRequest, SlaPlan
    from models.tasks import (
        AddCohandlerSignal,
        CancelInput,
        ChangePlanSignal,
        CoStatus,
        Opinion,
        TaskInput,
        TaskResult,
        TaskState,
        TaskStatus,
        UrgeSignal,
    )
    from workflows.case_support import case_projection, decision_line, routing_facts
    from workflows.department_task import (
        ADD_COHANDLER_SIGNAL,
        TASK_CHANGED_SIGNAL,
        DepartmentTaskWorkflow,
    )
    from workflows.notification import NotificationWorkflow
    from workflows.policies import COMPUTE_RETRY, COMPUTE_TIMEOUT
    from workflows.projection import Projector

TERMINAL = (CaseStatus.closed, CaseStatus.withdrawn)
ACTIVE = (CaseStatus.open, CaseStatus.in_review, CaseStatus.awaiting_callback)
MAX_LEAD_RESTARTS = 2
MAX_RECEIPTS = 2
TaskHandle = workflow.ChildWorkflowHandle[DepartmentTaskWorkflow, TaskResult]


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
        self._superseded: set[str] = set()  # tasks cancelled on purpose: not restarted
        self._received: dict[str, int] = {}  # office id → tasks it was given (at most 2)
        self._open: dict[str, TaskHandle] = {}
        self._pending: list[TaskResult] = []
        self._results: list[TaskResult] = []
        self._excluded: list[OfficeKey] = []
        self._returns: list[ReturnRecord] = []
        self._review_due: datetime | None = None
        self._proceed = False
        self._lead_restarts = 0
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

        while True:
            await workflow.wait_condition(
                lambda: bool(self._pending) or (self._status in TERMINAL and not self._open)
            )
            if not self._pending:
                break
            await self._handle(self._pending.pop(0))
            await self._sync_co_status()
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
            returns=list(self._returns),
            review_due=self._review_due,
            proceeded=self._proceed,
            closed_at=self._closed_at,
        )

    def _current_plan(self) -> SlaPlan:
        assert self._routed is not None
        return self._plan or self._routed.plan

    @workflow.signal(name=TASK_CHANGED_SIGNAL)
    def task_changed(self, task: TaskState) -> None:
        self._tasks[task.task_id] = task

    @workflow.signal(name=ADD_COHANDLER_SIGNAL)
    async def add_cohandler(self, inp: AddCohandlerSignal) -> None:
        """The lead asked for another co-handler (its update validated the request)."""
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

    # ---- updates: clerks ---------------------------------------------------------

    def _check_clerk(self, actor: str) -> None:
        if actor not in (self._routed.roster.clerks if self._routed else []):
            raise _reject(f"{actor} is not an intake clerk; see `appeals staff --role clerk`")

    def _check_supervisor(self, actor: str) -> None:
        if actor not in (self._routed.roster.supervisors if self._routed else []):
            raise _reject(f"{actor} is not a supervisor; see `appeals staff --role supervisor`")

    def _check_active(self) -> None:
        if self._status in TERMINAL:
            raise _reject(f"case {self._case_id} is already {self._status.value}")

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
            await self._cancel_open("case closed")  # a late co-handler's task ends here
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
        # Tasks started while this ran are cancelled by _start_task itself.
        await self._cancel_open(inp.reason)
        return self.state()

    @withdraw.validator
    def _validate_withdraw(self, inp: WithdrawInput) -> None:
        self._check_clerk(inp.actor)
        self._check_active()

    # ---- updates: supervisors ----------------------------------------------------

    @workflow.update
    async def urge(self, inp: UrgeInput) -> CaseState:
        """督办: recorded, e-mailed to every open task's office, raises the priority."""
        self._validate_urge(inp)
        self._priority += 1
        priority = self._priority  # another 督办 may raise it while we await below
        await self._record("urged", inp.actor, inp.text, {"priority": priority})
        for task_id in list(self._open):
            await self._tell(
                task_id,
                DepartmentTaskWorkflow.urge,
                UrgeSignal(actor=inp.actor, text=inp.text, priority=priority),
            )
        return self.state()

    @urge.validator
    def _validate_urge(self, inp: UrgeInput) -> None:
        self._check_supervisor(inp.actor)
        self._check_active()

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
        for task_id in list(self._open):
            if self._assignments[task_id].role is not TaskRole.liaison:
                await self._tell(
                    task_id,
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
        self._check_active()
        if inp.plan == self._current_plan().name:
            raise _reject(f"case {self._case_id} already runs on plan {inp.plan}")

    @workflow.update
    async def proceed(self, inp: ProceedInput) -> CaseState:
        """Let the lead reply without the co-handlers that are still late."""
        self._validate_proceed(inp)
        self._proceed = True
        late = [
            self._assignments[t].office.name
            for t in self._open
            if self._assignments[t].role is not TaskRole.lead
        ]
        await self._record("proceeded", inp.actor, f"without {', '.join(late)}: {inp.reason}")
        await self._sync_co_status()
        await self._maybe_reply()
        return self.state()

    @proceed.validator
    def _validate_proceed(self, inp: ProceedInput) -> None:
        self._check_supervisor(inp.actor)
        if self._status is not CaseStatus.open:
            raise _reject(f"case {self._case_id} is {self._status.value}, not open")
        if not self._open_helpers():
            raise _reject("no co-handler is still to answer; nothing to proceed without")
        if self._proceed:
            raise _reject("the lead may already proceed")

    @workflow.update
    async def designate(self, inp: DesignateInput) -> CaseState:
        """派单异议审核: a supervisor names the owner; that task cannot be returned."""
        self._validate_designate(inp)
        region = inp.region or self._lead_region()
        assignment = await self._resolve(inp.department, region, TaskRole.lead)
        if assignment is None:
            raise ApplicationError(
                f"no office of {inp.department} serves {region}",
                type="InvalidAction",
                non_retryable=True,
            )
        if self._received.get(assignment.office.id, 0) >= MAX_RECEIPTS:
            raise ApplicationError(
                f"{assignment.office.name} has already had this case twice; designate "
                "another office",
                type="InvalidAction",
                non_retryable=True,
            )
        await self._cancel_open("designated elsewhere", roles=(TaskRole.lead,))
        self._status = CaseStatus.open
        self._review_due = None
        await self._record(
            "designated",
            inp.actor,
            f"{assignment.office.name}: {inp.reason}",
            {"department": inp.department, "region": assignment.office.region},
        )
        await self._start_task(assignment, designated=True)
        await self._sync_co_status()
        return self.state()

    @designate.validator
    def _validate_designate(self, inp: DesignateInput) -> None:
        self._check_supervisor(inp.actor)
        if self._status not in (CaseStatus.in_review, CaseStatus.open):
            raise _reject(
                f"case {self._case_id} is {self._status.value}; only an open case "
                "or one in dispatch review can be designated"
            )
        roster = self._routed.roster if self._routed else None
        if roster is None or inp.department not in roster.departments:
            raise _reject(f"unknown department {inp.department!r}")
        if inp.region is not None and inp.region not in roster.regions:
            raise _reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")

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
            self._excluded, prefer=returned.owner, prefer_region=returned.region
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
        routed = await self._route(self._excluded)
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
        return bool(a.fallback_reason and "designate" in a.fallback_reason)

    async def _enter_review(self, why: str) -> None:
        """派单异议审核: no more automatic re-routing; a supervisor designates the owner
        within the plan's review period, or 社会工作部 hears about it."""
        due = await workflow.execute_activity_method(
            ClockActivities.compute_deadlines,
            DeadlineRequest(start=workflow.now(), periods=[self._current_plan().review]),
            start_to_close_timeout=COMPUTE_TIMEOUT,
            retry_policy=COMPUTE_RETRY,
        )
        if any(self._assignments[t].role is TaskRole.lead for t in self._open):
            return  # a supervisor designated an owner while we computed the due time
        # Status and due time change together, so nobody sees a review without a due.
        self._status, self._review_due = CaseStatus.in_review, due.due[0]
        await self._record(
            "in_review",
            None,
            f"{why}; a supervisor designates the owner by {self._review_due:%Y-%m-%d %H:%M}",
        )
        asyncio.create_task(self._watch_review(self._review_due))

    async def _watch_review(self, due: datetime) -> None:
        try:
            await workflow.wait_condition(
                lambda: self._status is not CaseStatus.in_review or self._review_due != due,
                timeout=max((due - workflow.now()).total_seconds(), 0.001),
            )
        except TimeoutError:
            await self._record(
                "review_overdue", None, f"no owner designated by {due:%Y-%m-%d %H:%M}"
            )
            await self._notify_review_overdue(due)

    async def _notify_review_overdue(self, due: datetime) -> None:
        """社会工作部 hears of a dispatch dispute nobody has settled in time."""
        assert self._routed is not None
        contacts = self._routed.decision.lead.contacts
        if contacts is None or not contacts.supervision:
            return
        n = Notification(
            id=f"{self._case_id}:review:{len(self._returns)}",
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

    async def _maybe_reply(self) -> None:
        """The case replies once the lead has answered and every opinion is in (or a
        supervisor let it proceed)."""
        if self._status is not CaseStatus.open or self._lead is None:
            return
        roles = [self._assignments[t].role for t in self._open]
        if TaskRole.lead in roles or (roles and not self._proceed):
            return
        self._reply = self._lead.reply
        self._status = CaseStatus.awaiting_callback
        outcome = self._lead.outcome.value if self._lead.outcome else ""
        await self._record("replied", self._lead.actor, self._reply, {"outcome": outcome})

    def _open_helpers(self) -> list[str]:
        return [t for t in self._open if self._assignments[t].role is not TaskRole.lead]

    async def _sync_co_status(self) -> None:
        """Tell the open lead task whose opinions it still waits for, and what they said."""
        status = CoStatus(
            pending=[self._assignments[t].office.name for t in self._open_helpers()],
            opinions=[
                Opinion(
                    task_id=r.task_id,
                    role=r.role,
                    office_name=self._assignments[r.task_id].office.name,
                    outcome=r.outcome,
                    text=r.reply,
                )
                for r in self._results
                if r.role is not TaskRole.lead and r.status is TaskStatus.completed
            ],
            proceed=self._proceed,
        )
        for task_id in list(self._open):
            if self._assignments[task_id].role is TaskRole.lead:
                await self._tell(task_id, DepartmentTaskWorkflow.co_status, status)

    # ---- helpers ---------------------------------------------------------------

    def _lead_region(self) -> str:
        d = self._decisions[-1] if self._decisions else None
        return d.lead.basis_region if d else self._inp.intake.workplace

    async def _route(
        self,
        exclude: list[OfficeKey],
        *,
        prefer: str | None = None,
        prefer_region: str | None = None,
    ) -> RoutedCase | None:
        form = self._inp.intake
        try:
            return await workflow.execute_activity_method(
                RoutingActivities.route_case,
                RouteRequest(
                    facts=routing_facts(form),
                    exclude=list(exclude),
                    sla_plan_override=form.sla_plan,
                    urgent=form.urgent,
                    prefer_department=prefer,
                    prefer_region=prefer_region,
                ),
                start_to_close_timeout=COMPUTE_TIMEOUT,
                retry_policy=COMPUTE_RETRY,
            )
        except ActivityError as e:
            # e.g. the rules were reloaded without this case's category: a person decides.
            await self._record("routing_failed", None, str(e.cause or e))
            return None

    async def _resolve(self, department: str, region: str, role: TaskRole) -> Assignment | None:
        try:
            a = await workflow.execute_activity_method(
                RoutingActivities.resolve_office,
                ResolveOfficeRequest(department=department, region=region),
                start_to_close_timeout=COMPUTE_TIMEOUT,
                retry_policy=COMPUTE_RETRY,
            )
        except ActivityError as e:
            await self._record("routing_failed", None, str(e.cause or e))
            return None
        return a.model_copy(update={"role": role})

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
                summary=form.summary,
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

    async def _tell(self, task_id: str, signal: Any, arg: Any) -> None:
        """Signal an open task; one that finished in the meantime needs nothing."""
        handle = self._open.get(task_id)
        if handle is None:
            return
        try:
            await handle.signal(signal, arg)
        except FailureError as e:
            workflow.logger.info("task %s did not take the signal: %s", task_id, e)

    async def _cancel_open(self, reason: str, roles: tuple[TaskRole, ...] | None = None) -> None:
        for task_id in list(self._open):
            if roles is None or self._assignments[task_id].role in roles:
                self._superseded.add(task_id)
                await self._tell(task_id, DepartmentTaskWorkflow.cancel, CancelInput(reason=reason))

    async def _record_decision(self, action: str, d: RoutingDecision, actor: str | None) -> None:
        self._decisions.append(d)
        await self._record(
            action,
            actor,
            decision_line(d),
            {"rule": d.rule_id, "rules_version": d.rules_version, "explanation": d.explanation},
        )

    async def _record(
        self,
        action: str,
        actor: str | None,
        detail: str | None,
        data: dict[str, object] | None = None,
    ) -> None:
        event = self._projector.event(action, actor=actor, detail=detail, data=data)
        projection = case_projection(
            case_id=self._case_id,
            version=self._projector.bump(),
            form=self._inp.intake,
            status=self._status,
            opened_at=self._opened_at,
            decision=self._decisions[-1] if self._decisions else None,
            plan=self._current_plan().name if self._routed else None,
            reply=self._reply,
            callback=self._callback,
            priority=self._priority,
            closed_at=self._closed_at,
        )
        await self._projector.write(ProjectionBatch(case=projection, events=[event]))
