"""The case's supervision: 督办 (urge), a new SLA plan mid-way, letting the lead
proceed without late co-handlers, and designating the owner (派单异议审核)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.routing import RoutingActivities
    from models.case import (
        CaseAck,
        CaseState,
        CaseStatus,
        DesignateInput,
        ProceedInput,
        SetPlanInput,
        UrgeInput,
    )
    from models.routing import PlanRequest, TaskRole
    from models.tasks import ChangePlanSignal, UrgeSignal
    from workflows.department_task import DepartmentTaskWorkflow

from workflows import patches
from workflows.after_commit import marks_update
from workflows.case_base import MAX_RECEIPTS, reject
from workflows.case_dispatch import CaseDispatch
from workflows.compute import compute, compute_options


class CaseSupervision(CaseDispatch):
    """Supervisors' (and, for a plan change, clerks') updates on the case.

    Built on CaseDispatch rather than CaseBase because designating an owner starts
    a task, and starting one may put the case in dispatch review.
    """

    # ---- updates: supervisors ----------------------------------------------------

    @workflow.update
    @marks_update
    async def urge(self, inp: UrgeInput) -> CaseAck | CaseState:
        """督办: recorded, e-mailed to every open task's office, raises the priority."""
        self._validate_urge(inp)
        self._priority += 1
        priority = self._priority  # another 督办 may raise it while we await below
        await self._record("urged", inp.actor, inp.text, {"priority": priority})
        for task_id in list(self._open):
            await self._tell(
                task_id,
                DepartmentTaskWorkflow.urge,
                UrgeSignal(actor=inp.actor, text=self._for_others(inp.text), priority=priority),
            )
        return self._answer()

    @urge.validator
    def _validate_urge(self, inp: UrgeInput) -> None:
        self._check_supervisor(inp.actor)
        self._check_active()

    @workflow.update
    @marks_update
    async def set_plan(self, inp: SetPlanInput) -> CaseAck | CaseState:
        """Change the case's SLA plan mid-way (e.g. it turned out urgent); every open
        task keeps the time it has already spent."""
        self._validate_set_plan(inp)
        try:
            plan = await compute(
                RoutingActivities.get_plan, PlanRequest(name=inp.plan), **compute_options()
            )
        except ActivityError as e:  # bounded: the case keeps its plan
            raise ApplicationError(
                f"the plan {inp.plan} could not be loaded just now; nothing changed, try again",
                type="ComputeUnavailable",
                non_retryable=True,
            ) from e
        self._plan = plan
        await self._record(
            "plan_changed", inp.actor, f"→ {plan.name}: {inp.reason}", {"plan": plan.name}
        )
        for task_id in list(self._open):
            a = self._assignments[task_id]
            # Liaison tasks and external hand-offs keep their own plans: their ladders
            # climb to the lead office or 社会工作部; a case plan's ladder would send
            # rung 1 to the platform or to the other region's hotline itself.
            if a.role is TaskRole.liaison:
                continue
            if a.external and patches.taken(patches.SET_PLAN_SKIPS_HANDOFFS):
                continue
            await self._tell(
                task_id,
                DepartmentTaskWorkflow.change_plan,
                ChangePlanSignal(plan=plan, actor=inp.actor, reason=inp.reason),
            )
        return self._answer()

    @set_plan.validator
    def _validate_set_plan(self, inp: SetPlanInput) -> None:
        roster = self._routed.roster if self._routed else None
        if roster is None or (
            inp.actor not in roster.supervisors and inp.actor not in roster.clerks
        ):
            raise reject(f"{inp.actor} is neither a clerk nor a supervisor")
        if inp.plan not in roster.plans:
            raise reject(f"unknown SLA plan {inp.plan!r}; plans: {', '.join(roster.plans)}")
        self._check_active()
        if inp.plan == self._current_plan().name:
            raise reject(f"case {self._case_id} already runs on plan {inp.plan}")

    @workflow.update
    @marks_update
    async def proceed(self, inp: ProceedInput) -> CaseAck | CaseState:
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
        return self._answer()

    @proceed.validator
    def _validate_proceed(self, inp: ProceedInput) -> None:
        self._check_supervisor(inp.actor)
        if self._status is not CaseStatus.open:
            raise reject(f"case {self._case_id} is {self._status.value}, not open")
        if not self._open_helpers():
            raise reject("no co-handler is still to answer; nothing to proceed without")
        if self._proceed:
            raise reject("the lead may already proceed")

    @workflow.update
    @marks_update
    async def designate(self, inp: DesignateInput) -> CaseAck | CaseState:
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
        return self._answer()

    def _places_of_offices(self) -> dict[str, str]:
        """department@region → office id, for the offices this case's tasks went to: the
        office's own place and the place its assignment was for."""
        places: dict[str, str] = {}
        for a in self._assignments.values():
            places[str(a.office.key)] = a.office.id
            places[f"{a.office.department}@{a.basis_region}"] = a.office.id
        return places

    @designate.validator
    def _validate_designate(self, inp: DesignateInput) -> None:
        self._check_supervisor(inp.actor)
        if self._status not in (CaseStatus.in_review, CaseStatus.open):
            raise reject(
                f"case {self._case_id} is {self._status.value}; only an open case "
                "or one in dispatch review can be designated"
            )
        roster = self._routed.roster if self._routed else None
        if roster is None or inp.department not in roster.departments:
            raise reject(f"unknown department {inp.department!r}")
        if inp.region is not None and inp.region not in roster.regions:
            raise reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")
        # The handler checks this again with the office it resolves (the rules may have
        # been reloaded since), but a refusal belongs here, before the history. Cases
        # routed without the placements (patches.CASE_HISTORY_SLIM) know the places of
        # the offices that had them, which are the ones this refuses; another place
        # that falls back on such an office is refused by the handler.
        key = f"{inp.department}@{inp.region or self._lead_region()}"
        office = (roster.placements or self._places_of_offices()).get(key)
        if office is not None and self._received.get(office, 0) >= MAX_RECEIPTS:
            name = next(
                (a.office.name for a in self._assignments.values() if a.office.id == office),
                office,
            )
            raise reject(f"{name} has already had this case twice; designate another office")
