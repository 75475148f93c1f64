"""Activity inputs carry no personal data that the activity does not need.

A case is run through its life on the time-skipping server — opened with the worker's
name, phone and ID number in the form and in the summary (as a clerk types what the
worker says), routed to a lead and a co-handler, returned and re-routed, paused for
material, extended, urged, replied, called back unsatisfied, reopened, replied again
and called back — with every local activity sent through the activity queue instead
(tests/remote_activities.py), so that every activity call is an ActivityTaskScheduled
event whose input is in the history. Then the histories of the case and of every
workflow it started (tasks, mails) or joined (clusters) are read, decoded with the
TEST codec key, and each activity's input is searched for the worker's data.

The allow-list — the activities that really need the worker's data:

- ``project`` (activities/store.py) writes the read model. The case row holds the
  worker's name, phone and ID number: the clerk calls the worker back with them, and
  the lead office reveals them (audited); nothing else in the system keeps them.

Everything else does without (patches.PII_MASKED_FOR_OTHERS):

- ``route_case`` reads the summary for its keywords: it gets it with the worker's name,
  phones and ID numbers masked (王**, 139****5678);
- the tasks get that masked summary too, so their mails (a hand-off to another
  region's hotline mails the matter) never carry it; a 督办's text and a repeat call's
  words are masked by the case before the offices' mails get them;
- ``clock_op`` does the ledger's arithmetic: it gets the clock without the words typed
  in it (a question for the worker, an extension's reason), which the task keeps;
- ``queue_notification`` / ``send_notification``: phones and ID numbers an officer
  typed (an extension's reason) are masked by the task before the mail is handed on.

The case masks the worker's name because it is the only workflow that knows it. What
no workflow can mask: a name an officer types into a task (a question, a reason, a
note) reaches that task's mails as typed — the task never learns the worker's name, and
giving it the name to mask it would be the very leak this test forbids.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.tables import ClusterRow, OutboxRow
from models.case import CallbackInput, UrgeInput
from models.clusters import RepeatInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
)
from settings import Settings
from tests.conftest import eventually, running_stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.test_figures import new_lead

NAME, PHONE, ID_NUMBER = "欧阳春燕", "13912345678", "440106199003071231"
ALLOWED = {"project"}


async def histories(client: Client, roots: list[str]) -> dict[str, Any]:
    """Each workflow's history, from ``roots`` down through the children they started."""
    found: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        wid = todo.pop()
        if wid in found:
            continue
        found[wid] = history = await client.get_workflow_handle(wid).fetch_history()
        for e in history.events:
            if e.HasField("start_child_workflow_execution_initiated_event_attributes"):
                todo.append(e.start_child_workflow_execution_initiated_event_attributes.workflow_id)
            elif e.HasField("activity_task_scheduled_event_attributes"):
                # A task's mail is started by an activity, not as a child
                # (patches.TASK_MAIL_STARTED_LOCALLY); the activity id is the mail's.
                a = e.activity_task_scheduled_event_attributes
                if a.activity_type.name == "start_notification":
                    todo.append(a.activity_id)
    return found


async def activity_inputs(client: Client, history: Any) -> list[tuple[str, str]]:
    """(activity type, its input as text) of every ActivityTaskScheduled event."""
    codec = client.data_converter.payload_codec
    assert codec is not None
    out = []
    for e in history.events:
        if not e.HasField("activity_task_scheduled_event_attributes"):
            continue
        a = e.activity_task_scheduled_event_attributes
        decoded = await codec.decode(list(a.input.payloads))
        args = [json.loads(p.data) for p in decoded]
        # Re-dumped without escapes: a writer of ASCII-only JSON must not hide a name.
        text = json.dumps(args, ensure_ascii=False)
        out.append((a.activity_type.name, text))
        if a.activity_type.name == "project":
            # A task's mails ride in its projection (patches.MAIL_THROUGH_OUTBOX): the
            # projection may hold the worker's data, the offices' mails may not.
            mails = [m for arg in args for m in arg.get("mails", [])]
            if mails:
                out.append(("project.mails", json.dumps(mails, ensure_ascii=False)))
    return out


async def test_only_the_allowed_activities_see_the_worker(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    async with running_stack(env, settings, remote_activities=True) as stack:
        handle = await open_case(
            stack,
            intake(
                name=NAME,
                phone=PHONE,
                id_number=ID_NUMBER,
                summary=f"{NAME}（电话{PHONE}，身份证{ID_NUMBER}）反映配送站拖欠两个月工资",
            ),
        )
        lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
        who = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=who))
        await act(
            stack, lead.task_id, "return", ReturnInput(actor=who, reason="不属本局", owner="hrss")
        )
        first = lead.task_id
        lead = await new_lead(handle, {first})
        who = lead.handlers[0]
        t = lead.task_id
        await act(stack, t, "accept", AcceptInput(actor=who))
        await act(stack, t, "note", NoteInput(actor=who, text="已约谈配送站负责人"))
        await act(
            stack,
            t,
            "request_info",
            RequestInfoInput(actor=who, question=f"请提供{PHONE}绑定账户的工资流水"),
        )
        await act(stack, t, "provide_info", ProvideInfoInput(actor="clerk.li", text="流水三页"))
        await act(
            stack,
            t,
            "extend",
            ExtendInput(actor=who, period="2wd", reason=f"需调取{PHONE}的接单记录"),
        )
        await act(stack, t, "approve_extension", DecideExtensionInput(actor="sup.zhang"))
        # A supervisor's 督办 and a repeat call, both in words that name the worker.
        await handle.execute_update(
            "urge", UrgeInput(actor="sup.zhang", text=f"{NAME}多次来电，请本周内办结")
        )
        await handle.execute_update(
            "repeat",
            RepeatInput(
                actor="clerk.li",
                request_id=uuid.uuid4().hex,
                summary=f"{NAME}再次来电（{PHONE}），催问进度",
                matched_on=["phone"],
            ),
        )
        await act(stack, co.task_id, "accept", AcceptInput(actor=co.handlers[0]))
        await act(
            stack,
            co.task_id,
            "complete",
            CompleteInput(actor=co.handlers[0], outcome="resolved", reply="工会支持劳动者"),
        )
        await opinions_in(stack, t)
        await act(
            stack,
            t,
            "complete",
            CompleteInput(actor=who, outcome="partially_resolved", reply="已支付一半"),
        )
        await wait_status(handle, "awaiting_callback")
        await handle.execute_update(
            "callback", CallbackInput(actor="clerk.li", result="unsatisfied", remark="仍欠一半")
        )
        again = await new_lead(handle, {first, t})
        await act(stack, again.task_id, "accept", AcceptInput(actor=again.handlers[0]))
        await act(
            stack,
            again.task_id,
            "complete",
            CompleteInput(actor=again.handlers[0], outcome="resolved", reply="已足额支付"),
        )
        await wait_status(handle, "awaiting_callback")
        await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
        await handle.result()

        # A ride-hailing driver's penalty by a platform registered in Beijing: an external
        # hand-off to Beijing's 12345 (mailed the matter), co-handlers, the platform's
        # liaison task.
        handoff = await open_case(
            stack,
            intake(
                name=NAME,
                phone=PHONE,
                id_number=ID_NUMBER,
                platform="didi",
                category="platform_penalty",
                occupation="ride_hailing",
                residence="440105",
                workplace="440105",
                summary=f"司机{NAME}（{PHONE}）被平台罚款200元并封号7天，申诉无人处理",
            ),
        )
        tasks = await wait_tasks(handoff, 4)
        (external,) = [t for t in tasks if t.department == "external_hotline"]

        def handed_off() -> bool:
            with Session(stack.engine) as session:
                row = session.get(OutboxRow, f"{external.task_id}:handoff")
                return row is not None and row.status == "sent"

        await eventually(lambda: asyncio.sleep(0, handed_off()))

        with Session(stack.engine) as session:
            clusters = list(session.exec(select(ClusterRow.workflow_id)))
        found = await histories(stack.client, [handle.id, handoff.id, *clusters])
        seen: dict[str, int] = {}
        wrong = []
        for wid, history in found.items():
            for activity, text in await activity_inputs(stack.client, history):
                seen[activity] = seen.get(activity, 0) + 1
                leaked = [
                    label
                    for label, value in (("name", NAME), ("phone", PHONE), ("id", ID_NUMBER))
                    if value in text
                ]
                if leaked and activity not in ALLOWED:
                    wrong.append(f"{wid}: {activity} gets the worker's {', '.join(leaked)}")
        # The life above reaches every kind of activity a case calls. (A cluster's own
        # project_cluster runs where its workflow does: the session's server shares the
        # cluster ids between tests, so another test's worker may hold it.)
        # A task's mails are in its projection's "mails" (patches.MAIL_THROUGH_OUTBOX).
        assert {"project", "project.mails", "route_case", "compute_deadlines", "clock_op",
                "supervisors_for", "join_clusters"} <= set(seen), seen  # fmt: skip
        assert not wrong, "\n".join(sorted(set(wrong)))
