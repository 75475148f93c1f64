"""Turning clock events and 督办 into notifications, queued in the outbox with the task's
own write and sent by the outbox relay (patches.MAIL_THROUGH_OUTBOX); before, each was
delivered by its own NotificationWorkflow (abandoned by the task, so mail never holds
up the case)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.mail import mask_personal, period_text
    from models.notify import Notification, NotificationKind, Recipient
    from models.routing import EscalationContacts
    from models.sla import ClockEvent, ClockState, Extension
    from models.tasks import TaskInput, UrgeSignal
    from workflows.notification import NotificationWorkflow
    from workflows.policies import LOCAL_ONCE, MAIL_START_TIMEOUT

from workflows import patches
from workflows.after_commit import accepting_update

# What each kind of task asks of its office, for the new-task mail (新工单). Read-only:
# every run shares it (sandbox.py).
WHAT_TO_DO = MappingProxyType(
    {
        "lead": "请在签收时限内签收（appeals accept {task}），在答复时限内办结并答复劳动者"
        "（appeals complete {task}）。",
        "co": "请签收（appeals accept {task}）并在答复时限内提出协办意见"
        "（appeals complete {task}），主办单位待贵单位意见后答复劳动者。",
        "liaison": "请平台联络员在答复时限内登录系统答复（appeals liaison-reply {task}）。",
    }
)


Queue = Callable[[Notification], Awaitable[None]]


class Notices:
    def __init__(self, inp: TaskInput, queue: Queue | None = None) -> None:
        """``queue``: how the task hands a mail to the outbox (patches.MAIL_THROUGH_OUTBOX)."""
        self._inp = inp
        self._queue = queue
        office = inp.assignment.office
        self._contacts = inp.assignment.contacts or EscalationContacts(
            office=office.mailbox, head=office.head_mailbox
        )

    def _recipients(self, roles: list[str]) -> list[Recipient]:
        names = {"office": self._inp.assignment.office.name}
        out: list[Recipient] = []
        for role in roles:
            for address in self._contacts.addresses([role]):
                if all(r.address != address for r in out):
                    out.append(Recipient(address=address, name=names.get(role), role=role))
        return out

    def _context(self, **extra: str) -> dict[str, str]:
        office = self._inp.assignment.office
        return {
            "case_id": self._inp.case_id,
            "task_id": self._inp.task_id,
            "category": self._inp.category,
            "category_label": self._inp.category_label or self._inp.category,
            "office_name": office.name,
            "role": "主办" if self._inp.role.value == "lead" else "协办",
            # Phones and ID numbers an officer typed (a reason, a question) are masked
            # before the mail's activities get them, not only when the mail is
            # rendered; a name the task cannot mask, for it never learns the worker's.
            **(
                {k: mask_personal(v) for k, v in extra.items()}
                if patches.taken(patches.PII_MASKED_FOR_OTHERS)
                else extra
            ),
        }

    async def send_clock_event(self, clock: ClockState, event: ClockEvent, priority: int) -> None:
        due = f"{clock.due_at:%Y-%m-%d %H:%M}" if clock.due_at else ""
        extra = {
            "clock_label": clock.label,
            "period": clock.spec.period,
            "due_at": due,
            "event": event.key,
        }
        if event.kind == "warning":
            kind = NotificationKind.warning
            extra["fraction"] = f"{round((event.fraction or 0) * 100)}%"
        else:
            kind = NotificationKind.breach
            extra["rung"] = str(event.rung)
        await self._start(
            Notification(
                id=f"{self._inp.task_id}:{clock.name}:{event.key}",
                kind=kind,
                event=event.key,
                case_id=self._inp.case_id,
                task_id=self._inp.task_id,
                clock=clock.name,
                to=self._recipients(event.recipients),
                urgent=clock.urgent or priority > 0,
                context=self._context(**extra),
                created_at=workflow.now(),
            )
        )

    async def send_urge(self, urge: UrgeSignal, priority: int) -> None:
        await self._start(
            Notification(
                id=f"{self._inp.task_id}:urge:{priority}",
                kind=NotificationKind.urge,
                event="urge",
                case_id=self._inp.case_id,
                task_id=self._inp.task_id,
                to=self._recipients(["office", "head"]),
                urgent=True,
                context=self._context(text=urge.text, urged_by=urge.actor, priority=str(priority)),
                created_at=workflow.now(),
            )
        )

    async def send_handoff(self) -> None:
        """跨地域转办: tell the other region's hotline what the matter is. Only the
        matter: the worker's name and phone stay here until that hotline asks."""
        summary = mask_personal(self._inp.summary)
        await self._start(
            Notification(
                id=f"{self._inp.task_id}:handoff",
                kind=NotificationKind.info,
                event="handoff",
                case_id=self._inp.case_id,
                task_id=self._inp.task_id,
                to=self._recipients(["office"]),
                urgent=self._inp.urgent,
                # The summary once, as its own fact; the text says what is asked.
                context=self._context(
                    headline="跨地域转办：请贵方受理并回复办理结果",
                    text="本诉求的属地在贵方辖区，现转请贵方依职责受理办理，并将结果函复我方。",
                    summary_masked=summary,
                ),
                created_at=workflow.now(),
            )
        )

    async def send_new_task(self, clocks: list[ClockState]) -> Any | None:
        """新工单: tell the office what to do and by when. Ids, the category and the
        deadlines only: the office reads the matter in the system."""
        lines = []
        for c in clocks:
            period = period_text(c.spec.period)
            if c.due_at is not None:
                lines.append(f"{c.label}：{c.due_at:%Y-%m-%d %H:%M} 前（{period}）")
            elif c.spec.starts_on != "dispatched":
                lines.append(f"{c.label}：签收后起算（{period}）")
        role = self._inp.role.value
        return await self._start(
            Notification(
                id=f"{self._inp.task_id}:new",
                kind=NotificationKind.task,
                event="new-task",
                case_id=self._inp.case_id,
                task_id=self._inp.task_id,
                to=self._recipients(["office"]),
                urgent=self._inp.urgent,
                context=self._context(
                    todo=WHAT_TO_DO.get(role, WHAT_TO_DO["lead"]).format(task=self._inp.task_id),
                    deadlines="\n".join(lines) or "见系统",
                ),
                created_at=workflow.now(),
            )
        )

    async def send_extension_request(
        self, clock: ClockState, ext: Extension, supervisors: list[Recipient]
    ) -> None:
        """延期申请: the supervisors whose region covers the task decide it."""
        due = f"{clock.due_at:%Y-%m-%d %H:%M}" if clock.due_at else "（暂停中）"
        await self._start(
            Notification(
                id=f"{self._inp.task_id}:{clock.name}:extension-{ext.n}",
                kind=NotificationKind.info,
                event="extension-requested",
                case_id=self._inp.case_id,
                task_id=self._inp.task_id,
                clock=clock.name,
                to=supervisors,
                urgent=self._inp.urgent,
                context=self._context(
                    headline=f"延期申请待审批：{clock.label}时限申请延长{period_text(ext.period)}",
                    text=f"{self._inp.assignment.office.name}申请将{clock.label}时限延长"
                    f"{period_text(ext.period)}（现截止 {due}）。理由：{ext.reason}\n"
                    f"请批准（appeals approve-extension {self._inp.task_id} --clock {clock.name}）"
                    f"或驳回（appeals deny-extension {self._inp.task_id} --clock {clock.name}"
                    " --reason …），或在督办看板处理。",
                ),
                created_at=workflow.now(),
            )
        )

    async def _start(self, n: Notification) -> Any | None:
        """Hand ``n`` to its own workflow; that workflow's handle (None: not started)."""
        if self._inp.assignment.external and all(r.role == "office" for r in n.to):
            # Another region's hotline cannot log in here: the mail must not send it
            # to the CLI, but ask for a written answer (a clerk records it).
            n.context["external"] = "yes"
        if not n.to:
            workflow.logger.warning("notification %s has no recipient; not sent", n.id)
            return None
        if self._queue is not None and patches.taken(patches.MAIL_THROUGH_OUTBOX):
            # Queued with the task's next write, and sent by the outbox relay: no
            # workflow, no workflow task and no activity of its own.
            await self._queue(n)
            return None
        if patches.taken(patches.TASK_MAIL_STARTED_LOCALLY):
            if accepting_update():
                # Started only if the Update is in history (workflows/after_commit.py),
                # within a bound: then as a child, as below.
                try:
                    await workflow.execute_activity(
                        "start_notification",
                        n,
                        activity_id=f"mail-{n.id}",
                        start_to_close_timeout=MAIL_START_TIMEOUT,
                        schedule_to_close_timeout=MAIL_START_TIMEOUT,
                    )
                    return None
                except FailureError as e:
                    workflow.logger.warning("notification %s: started as a child (%s)", n.id, e)
                    return await self._start_child(n)
            try:
                # Not a child: a child's start and its end would each wake this task
                # for one more workflow task. Its id keeps the mail to one workflow.
                # The mail's workflow id as the activity id: its marker names the mail.
                await workflow.execute_local_activity(
                    "start_notification", n, activity_id=f"mail-{n.id}", **LOCAL_ONCE
                )
                return None  # not this task's child: nothing to wait for at its end
            # e.g. the server slow to answer: as before. Live an ActivityError; a
            # timeout replayed from its marker is the bare TimeoutError, which must take
            # the same path (see workflows/notification.py): any FailureError does.
            except FailureError as e:
                workflow.logger.warning("notification %s: started as a child (%s)", n.id, e)
        return await self._start_child(n)

    async def _start_child(self, n: Notification) -> Any | None:
        try:
            return await workflow.start_child_workflow(
                NotificationWorkflow.run,
                n,
                id=f"mail-{n.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return None  # the same notification was already handed over: once is enough
