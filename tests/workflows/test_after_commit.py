"""What an action does outside its workflow comes after the action is in the history
(workflows/after_commit.py): the read model's row and audit row, and the mail it sends
(queued in the outbox with a projection; before patches.MAIL_THROUGH_OUTBOX, its
workflow's start). Before, the local projection ran inside the workflow task that accepted
the Update, so a task that timed out and was not retried with the Update left an audit
row "accepted by …" for an acceptance the workflow never had.

A spy on the worker's activities looks, as each one starts, at the workflow's history:
every audit row a person's action writes, and every mail it starts, must find that
action's Update already accepted there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from models.case import UrgeInput
from models.events import ProjectionBatch
from models.tasks import AcceptInput, ExtendInput, NoteInput
from settings import Settings
from tests.conftest import eventually, running_stack
from tests.workflows.helpers import act, intake, open_case, wait_tasks

# The audit rows of the actions below, and the Update each records.
UPDATE_OF = {
    "accepted": "accept",
    "note": "note",
    "extension_requested": "extend",
    "urged": "urge",
}


@dataclass
class HistorySpy(Interceptor):
    """Records, for each audit row of an action and each mail started, which Updates
    the workflow's history had accepted at that moment."""

    client: Client
    seen: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Spy(next, self)

    async def accepted_updates(self, workflow_id: str) -> frozenset[str]:
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        return frozenset(
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        )


class _Spy(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, spy: HistorySpy) -> None:
        super().__init__(next)
        self.spy = spy

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        what: list[str] = []
        if info.activity_type == "project":
            batch: ProjectionBatch = input.args[0]
            what = [e.action for e in batch.events if e.action in UPDATE_OF]
            # A task's mails, queued for the outbox relay (patches.MAIL_THROUGH_OUTBOX).
            what += [f"mail:{n.event}" for n in batch.mails]
        elif info.activity_type == "start_notification":
            what = [f"mail:{input.args[0].event}"]
        if what:
            assert info.workflow_id is not None  # run for a workflow, locally or not
            accepted = await self.spy.accepted_updates(info.workflow_id)
            self.spy.seen.extend((info.workflow_id, w, accepted) for w in what)
        return await self.next.execute_activity(input)


async def test_an_action_is_in_history_before_its_row_audit_row_or_mail(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    spy = HistorySpy(env.client)
    async with running_stack(env, settings, interceptors=[spy]) as stack:
        handle = await open_case(stack, intake())
        lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
        who = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
        await act(stack, lead.task_id, "note", NoteInput(actor=who, text="已联系平台"))
        await act(
            stack,
            lead.task_id,
            "extend",
            ExtendInput(actor=who, clock="reply", period="2wd", reason="需调取平台数据"),
        )
        await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请本周内办结"))

        async def all_seen() -> set[str] | None:
            got = {w for _, w, _ in spy.seen}
            return got if got >= {*UPDATE_OF, "mail:extension-requested"} else None

        await eventually(all_seen)
    for workflow_id, what, accepted in spy.seen:
        update = "extend" if what == "mail:extension-requested" else UPDATE_OF.get(what)
        if update is not None:
            assert update in accepted, f"{what} of {workflow_id} before its Update was in history"
