"""The case's state and what its handlers share: set-up, the state query, the
validators' building blocks, the reply once the lead and its co-handlers are done,
routing, signalling tasks and recording what happened.

GrievanceWorkflow (grievance.py) is this base plus case_dispatch.py (starting
tasks and what happens when one ends) and case_supervision.py (督办, plan changes,
proceed and designation).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    RetryState,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from activities.mail import mask_worker
    from activities.routing import RoutingActivities
    from models.case import (
        CallbackResult,
        CaseAck,
        CaseInput,
        CaseState,
        CaseStatus,
        ReturnRecord,
    )
    from models.events import CaseProjection, ProjectionBatch
    from models.notify import ClerkHeadRequest, Notification, NotificationKind, Recipients
    from models.routing import (
        Assignment,
        OfficeKey,
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
        CoStatus,
        Opinion,
        TaskBrief,
        TaskChanged,
        TaskResult,
        TaskStatus,
    )
    from workflows.case_support import case_projection, decision_line, routing_facts
    from workflows.department_task import DepartmentTaskWorkflow
    from workflows.notification import NotificationWorkflow
    from workflows.projection import Projector

from workflows import patches
from workflows.compute import compute, compute_options

TERMINAL = (CaseStatus.closed, CaseStatus.withdrawn)
ACTIVE = (CaseStatus.open, CaseStatus.in_review, CaseStatus.awaiting_callback)
MAX_LEAD_RESTARTS = 2
MAX_RECEIPTS = 2
TaskHandle = workflow.ChildWorkflowHandle[DepartmentTaskWorkflow, TaskResult]


def reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidAction", non_retryable=True)


class CaseBase:
    """One case: its state, the state query and the helpers every handler uses."""

    def _setup(self, inp: CaseInput) -> None:
        self._inp = inp
        self._case_id = inp.case_id
        self._status = CaseStatus.open
        self._opened_at = workflow.now()
        self._closed_at: datetime | None = None
        self._routed: RoutedCase | None = None
        self._route_timed_out = False  # the last routing was not run in time
        self._decisions: list[RoutingDecision] = []
        self._tasks: dict[str, TaskChanged] = {}  # each task's status, as it last told
        self._co_sent: dict[str, CoStatus] = {}  # lead task → what it was last told
        self._assignments: dict[str, Assignment] = {}
        self._superseded: set[str] = set()  # tasks cancelled on purpose: not restarted
        self._designated: set[str] = set()  # tasks a supervisor designated
        self._received: dict[str, int] = {}  # office id → tasks it was given (at most 2)
        self._open: dict[str, TaskHandle] = {}
        self._pending: list[TaskResult] = []
        # The run is routing the case and starting its first tasks, or its loop is
        # handling a task's result or a co-handler request.
        self._reacting = True
        self._co_requests: list[AddCohandlerSignal] = []  # the lead's, taken in turn
        self._co_taken: list[str] = []  # their request ids, acknowledged to the lead
        self._results: list[TaskResult] = []
        self._excluded: list[OfficeKey] = []
        self._returns: list[ReturnRecord] = []
        self._review_due: datetime | None = None
        self._reviews = 0  # dispatch reviews entered: each has its own overdue notice
        self._proceed = False
        self._lead_restarts = 0
        self._lead: TaskResult | None = None  # the lead task that completed last
        self._reply: str | None = None
        self._callback: CallbackResult | None = None
        self._callback_remark: str | None = None
        self._callback_due: datetime | None = None
        self._callbacks_due = 0  # callback clocks started: each has its own overdue notice
        self._reopened = False
        self._priority = 0
        self._plan: SlaPlan | None = None  # a supervisor's plan change wins over routing's
        self._seq = 0
        self._projector = Projector(workflow_id=inp.case_id, case_id=inp.case_id)
        # -- repeats and clusters (case_repeats.py) --
        self._repeat_requests: list[str] = []  # the merged calls' request ids
        self._clusters: list[str] = []
        self._cluster_lead: str | None = None
        self._cluster_replies: list[str] = []

    # ---- queries ----------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return CaseState(
            case_id=self._case_id,
            status=self._status,
            category=self._inp.intake.category,
            opened_at=self._opened_at,
            routing=list(self._decisions),
            tasks=[self._brief(t) for t in self._tasks.values() if t.task_id in self._assignments],
            results=list(self._results),
            reply=self._reply,
            callback=self._callback,
            callback_remark=self._callback_remark,
            reopened=self._reopened,
            priority=self._priority,
            sla_plan=self._current_plan().name if self._routed else None,
            returns=list(self._returns),
            review_due=self._review_due,
            callback_due=self._callback_due,
            proceeded=self._proceed,
            closed_at=self._closed_at,
            settling=self._settling(),
            repeats=len(self._repeat_requests),
            clusters=list(self._clusters),
            cluster_lead=self._cluster_lead,
        )

    def _brief(self, t: TaskChanged) -> TaskBrief:
        """A task as the case knows it: its assignment and the status it last told."""
        a = self._assignments[t.task_id]
        return TaskBrief(
            task_id=t.task_id,
            role=a.role,
            status=t.status,
            department=a.office.department,
            region=a.office.region,
            office_name=a.office.name,
            handlers=list(a.office.handlers),
            designated=t.task_id in self._designated,
            version=t.version,
        )

    def _answer(self) -> CaseAck | CaseState:
        """What an Update returns: an acknowledgement (patches.CASE_HISTORY_SLIM; the
        caller queries the state), or, on older runs, the whole state."""
        if patches.taken(patches.CASE_HISTORY_SLIM):
            return CaseAck(
                case_id=self._case_id, status=self._status, version=self._projector.version
            )
        return self.state()

    def _settling(self) -> bool:
        return bool(
            self._pending
            or self._co_requests
            or self._reacting
            # started but not reported yet, or being cancelled, or ended but its
            # result not in yet
            or any(t not in self._tasks or t in self._superseded for t in self._open)
            or any(not s.status.is_open for t, s in self._tasks.items() if t in self._open)
        )

    def _current_plan(self) -> SlaPlan:
        assert self._routed is not None
        return self._plan or self._routed.plan

    # ---- validators' building blocks ---------------------------------------------

    def _check_clerk(self, actor: str) -> None:
        if actor not in (self._routed.roster.clerks if self._routed else []):
            raise reject(f"{actor} is not an intake clerk; see `appeals staff --role clerk`")

    def _check_supervisor(self, actor: str) -> None:
        if actor not in (self._routed.roster.supervisors if self._routed else []):
            raise reject(f"{actor} is not a supervisor; see `appeals staff --role supervisor`")

    def _check_active(self) -> None:
        if self._status in TERMINAL:
            raise reject(f"case {self._case_id} is already {self._status.value}")

    # ---- the reply, once the lead and its co-handlers are done -------------------

    async def _maybe_reply(self) -> None:
        """The case replies once the lead has answered and every opinion is in (or a
        supervisor let it proceed)."""
        if self._status is not CaseStatus.open or self._lead is None or self._co_requests:
            return
        roles = [self._assignments[t].role for t in self._open]
        if TaskRole.lead in roles or (roles and not self._proceed):
            return
        self._reply = self._lead.reply
        self._status = CaseStatus.awaiting_callback
        outcome = self._lead.outcome.value if self._lead.outcome else ""
        await self._record("replied", self._lead.actor, self._reply, {"outcome": outcome})
        if patches.taken(patches.CALLBACK_CLOCK):
            await self._start_callback_clock()

    # ---- the callback clock (回访时限) -----------------------------------------------

    async def _start_callback_clock(self) -> None:
        period = self._current_plan().callback
        try:
            due = await compute(
                ClockActivities.compute_deadlines,
                DeadlineRequest(start=workflow.now(), periods=[period]),
                **compute_options(),
            )
        except ActivityError as e:
            await self._record("clock_failed", None, f"回访时限 not computed: {e.cause or e}")
            return
        if self._status is not CaseStatus.awaiting_callback:
            return  # called back (or withdrawn) while the due time was computed
        self._callback_due = due.due[0]
        self._callbacks_due += 1
        await self._record(
            "callback_due",
            None,
            f"回访 by {self._callback_due:%Y-%m-%d %H:%M} ({period})",
            {"due": self._callback_due.isoformat(), "period": period},
        )
        asyncio.create_task(self._watch_callback(self._callback_due, self._callbacks_due))

    async def _watch_callback(self, due: datetime, n: int) -> None:
        try:
            await workflow.wait_condition(
                lambda: (
                    self._status is not CaseStatus.awaiting_callback or self._callback_due != due
                ),
                timeout=max((due - workflow.now()).total_seconds(), 0.001),
            )
        except TimeoutError:
            await self._callback_overdue(due, n)

    async def _callback_overdue(self, due: datetime, n: int) -> None:
        """A late callback: the timeline says so and the head of the office of the clerk
        who opened the case is mailed (once per callback clock)."""
        try:
            heads = await compute(
                RoutingActivities.clerk_head,
                ClerkHeadRequest(clerk=self._inp.opened_by),
                **compute_options(),
            )
        except ActivityError as e:
            workflow.logger.warning("callback escalation: no head found: %s", e)
            heads = Recipients()
        to = ", ".join(r.address for r in heads.to) or "nobody (no office for the clerk)"
        await self._record(
            "callback_overdue",
            None,
            f"no callback recorded by {due:%Y-%m-%d %H:%M}; escalated to {to}",
            {"due": due.isoformat(), "clerk": self._inp.opened_by},
        )
        if not heads.to:
            return
        category = self._routed.category_label if self._routed else self._inp.intake.category
        notice = Notification(
            id=f"{self._case_id}:callback-{n}",
            kind=NotificationKind.info,
            event="callback-overdue",
            case_id=self._case_id,
            to=heads.to,
            urgent=True,
            context={
                "office_name": heads.to[0].name or "受理部门",
                "category_label": category or self._inp.intake.category,
                "headline": "回访超时，请督促受理人员回访劳动者",
                "text": f"诉求 {self._case_id} 已于答复后进入回访，回访时限 "
                f"{due:%Y-%m-%d %H:%M} 已过，尚未登记回访结果"
                f"（受理人 {self._inp.opened_by}）。请安排回访并登记"
                f"（appeals callback {self._case_id} --result …）。",
            },
            created_at=workflow.now(),
        )
        try:
            await workflow.start_child_workflow(
                NotificationWorkflow.run,
                notice,
                id=f"mail-{notice.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # the same notice was already handed over

    def _open_helpers(self) -> list[str]:
        return [t for t in self._open if self._assignments[t].role is not TaskRole.lead]

    async def _sync_co_status(self) -> None:
        """Tell the open lead task whose opinions it still waits for, and what they said."""
        busy: dict[str, str] = {}
        for t in self._open_helpers():
            a = self._assignments[t]
            busy[str(a.office.key)] = busy[f"{a.office.department}@{a.basis_region}"] = (
                a.office.name
            )
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
            busy=busy,
            requests_taken=list(self._co_taken),
        )
        slim = patches.taken(patches.CASE_HISTORY_SLIM)
        for task_id in list(self._open):
            if self._assignments[task_id].role is TaskRole.lead:
                if slim:
                    # Sent after every task result and request before: most told the
                    # lead nothing new (one more signal in both histories each time).
                    if self._co_sent.get(task_id) == status:
                        continue
                    self._co_sent[task_id] = status
                await self._tell(task_id, DepartmentTaskWorkflow.co_status, status)

    # ---- helpers ---------------------------------------------------------------

    def _for_others(self, text: str) -> str:
        """``text`` as the case hands it to anyone but the read model's case row: the
        worker's name, phones and ID numbers masked. The case masks it because it is
        the only workflow that knows the name (its tasks never get it)."""
        if not patches.taken(patches.PII_MASKED_FOR_OTHERS):
            return text
        return mask_worker(text, self._inp.intake.name)

    def _lead_region(self) -> str:
        d = self._decisions[-1] if self._decisions else None
        return d.lead.basis_region if d else self._inp.intake.workplace

    async def _route(
        self,
        exclude: list[OfficeKey],
        *,
        prefer: str | None = None,
        prefer_region: str | None = None,
        again: bool = False,
    ) -> RoutedCase | None:
        """Route the case (``again``: re-route it; only its decision is used then)."""
        form = self._inp.intake
        slim = patches.taken(patches.CASE_HISTORY_SLIM)
        self._route_timed_out = False
        try:
            return await compute(
                RoutingActivities.route_case,
                RouteRequest(
                    facts=routing_facts(form, self._for_others(form.summary)),
                    exclude=list(exclude),
                    sla_plan_override=form.sla_plan,
                    urgent=form.urgent,
                    prefer_department=prefer,
                    prefer_region=prefer_region,
                    # The roster is read from the first routing only; its office
                    # placements (department@region → office, for every pair) not at
                    # all: the designate validator knows the offices that had the case.
                    roster=not (again and slim),
                    placements=not slim,
                ),
                **compute_options(),
            )
        except ActivityError as e:
            # No answer within the give-up, whether nobody ran it or every run failed
            # (patches.ROUTE_UNTIL_ROUTED: a new case asks again); a rules' refusal is
            # not retried and ends here at once.
            self._route_timed_out = e.retry_state is RetryState.TIMEOUT or isinstance(
                e.cause, ActivityTimeout
            )
            if self._route_timed_out and not again and patches.taken(patches.ROUTE_UNTIL_ROUTED):
                return None
            # e.g. the rules were reloaded without this case's category: a person decides.
            await self._record("routing_failed", None, str(e.cause or e))
            return None

    async def _resolve(self, department: str, region: str, role: TaskRole) -> Assignment | None:
        try:
            a = await compute(
                RoutingActivities.resolve_office,
                ResolveOfficeRequest(department=department, region=region),
                **compute_options(),
            )
        except ActivityError as e:
            await self._record("routing_failed", None, str(e.cause or e))
            return None
        return a.model_copy(update={"role": role})

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
        projection = self._case_projection(self._projector.bump())
        version = await self._projector.write(ProjectionBatch(case=projection, events=[event]))
        await self._projector.settle(version)

    @workflow.query
    def projection(self) -> ProjectionBatch:
        """The case's row as the read model should hold it now (``appeals reconcile``)."""
        return ProjectionBatch(case=self._case_projection(self._projector.version))

    def _case_projection(self, version: int) -> CaseProjection:
        return case_projection(
            case_id=self._case_id,
            version=version,
            form=self._inp.intake,
            status=self._status,
            opened_at=self._opened_at,
            decision=self._decisions[-1] if self._decisions else None,
            plan=self._current_plan().name if self._routed else None,
            reply=self._reply,
            callback=self._callback,
            callback_remark=self._callback_remark,
            priority=self._priority,
            closed_at=self._closed_at,
            review_due=self._review_due,
            callback_due=self._callback_due,
            # repeats (case_repeats.py): the worker's keyed hashes and the linked case
            phone_hash=self._inp.phone_hash,
            id_hash=self._inp.id_hash,
            repeat_of=self._inp.repeat_of,
        )
