"""The task's answers: co-handling (主办/协办) opinions and requests, and the answers
recorded for an external hotline's hand-off or a platform liaison."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.tasks import (
        ActionResult,
        AddCohandlerInput,
        AddCohandlerSignal,
        CoStatus,
        ExternalReplyInput,
        LiaisonReplyInput,
        Outcome,
        TaskStatus,
    )

from workflows import patches
from workflows.after_commit import marks_update
from workflows.task_base import ADD_COHANDLER_SIGNAL, OPEN, TaskBase, reject


class TaskAnswers(TaskBase):
    """Handlers for co-handling and for answers given on another's behalf."""

    # ---- co-handling (主办/协办) and other answers ---------------------------------

    @workflow.signal
    def co_status(self, inp: CoStatus) -> None:
        self._co = inp

    @workflow.update
    @marks_update
    async def add_cohandler(self, inp: AddCohandlerInput) -> ActionResult:
        await workflow.wait_condition(lambda: self._ready)
        self._validate_add_cohandler(inp)
        region = inp.region or self._office.region
        request_id: str | None = None
        if patches.taken(patches.COHANDLER_REQUESTS_QUEUED):
            # Noted before any await: from here the lead cannot reply until the case
            # has taken the request (and then until the new opinion is in).
            request_id = f"{self._inp.task_id}:co-{len(self._co_asked) + 1}"
            self._co_asked[request_id] = f"{inp.department}@{region}"
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
                request_id=request_id,
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
            raise reject("only the lead office (主办) asks for co-handlers")
        if inp.department not in self._inp.departments:
            raise reject(
                f"unknown department {inp.department!r}; known: {', '.join(self._inp.departments)}"
            )
        if inp.region is not None and inp.region not in self._inp.regions:
            raise reject(f"unknown region {inp.region!r}; see `appeals staff` for region codes")
        key = f"{inp.department}@{inp.region or self._office.region}"
        if key == str(self._office.key):
            raise reject("the lead office cannot be its own co-handler")
        if key in self._co.busy:
            raise reject(f"{self._co.busy[key]} already co-handles this case ({key})")
        if key in self._co_asking():
            raise reject(f"{key} was already asked for; the case is adding it")

    def _check_opinions_in(self) -> None:
        """The lead replies once every co-handler, asked for or routed, has answered."""
        asking = self._co_asking()
        if asking:
            raise reject(
                f"the lead replies once every co-handler has given its opinion; the case is "
                f"still adding {', '.join(asking)}, which this office asked for"
            )
        if self._co.pending and not self._co.proceed:
            raise reject(
                f"the lead replies once every co-handler has given its opinion; waiting for "
                f"{', '.join(self._co.pending)} (a supervisor may let the lead go ahead: "
                f"appeals proceed {self._inp.case_id})"
            )

    @workflow.update
    @marks_update
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
            raise reject(f"task {self._inp.task_id} is not an external hand-off")
        if inp.actor not in self._inp.clerks:
            raise reject(
                f"{inp.actor} is not an intake clerk; a clerk records the external hotline's answer"
            )
        self._check_status("record an answer on", *OPEN)

    @workflow.update
    @marks_update
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
            raise reject(f"task {self._inp.task_id} is not a platform liaison task")
        self._check_actor(inp.actor)
        self._check_status("answer", *OPEN)
