"""The case's side of repeat appeals (重复来电) and concentrated grievances (集中诉求).

* ``repeat``: the same worker called again about this open case: recorded as a
  "repeat" event, the priority raised, every open task's office mailed; no new task.
* After routing, the case joins the clusters its key falls under (``join_clusters``,
  a signal-with-start of each ClusterWorkflow; patches.CLUSTER_FEED).
* A cluster's lead office (联合处置) is recorded on every member, and its one
  coordinated reply becomes each member's reply; each worker is still called back.

GrievanceWorkflow mixes this in beside CaseSupervision; the state it keeps is set up
in CaseBase._setup (``_repeat_requests``, ``_clusters``, ``_cluster_lead``).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.clusters import ClusterActivities
    from activities.mail import mask_personal
    from models.case import CaseAck, CaseState, CaseStatus
    from models.clusters import (
        ClusterLeadSignal,
        ClusterReplySignal,
        JoinClustersRequest,
        JoinClustersResult,
        RepeatInput,
    )
    from models.notify import Notification, NotificationKind, Recipient
    from workflows.cluster import CLUSTER_LEAD_SIGNAL, CLUSTER_REPLY_SIGNAL
    from workflows.notification import NotificationWorkflow

from workflows import patches
from workflows.after_commit import marks_update
from workflows.case_base import CaseBase
from workflows.compute import compute

# Joining a cluster must not hold the case up for long: a few minutes of retries,
# then the case goes on (the log says which case missed its clusters).
JOIN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
JOIN_GIVE_UP = timedelta(minutes=10)


class CaseRepeats(CaseBase):
    # ---- repeat appeals ------------------------------------------------------------

    @workflow.update
    @marks_update
    async def repeat(self, inp: RepeatInput) -> CaseAck | CaseState:
        """The same worker, the same matter, again: merged into this case."""
        self._validate_repeat(inp)
        if inp.request_id in self._repeat_requests:
            return self._answer()  # the same call merged twice is merged once
        self._repeat_requests.append(inp.request_id)
        self._priority += 1
        n, priority = len(self._repeat_requests), self._priority
        # The numbers masked always; the worker's name too since PII_MASKED_FOR_OTHERS.
        summary = mask_personal(self._for_others(inp.summary))
        await self._record(
            "repeat",
            inp.actor,
            summary or None,
            {
                "request_id": inp.request_id,
                "channel": inp.channel.value,
                "matched_on": inp.matched_on,
                "priority": priority,
                "repeats": n,
            },
        )
        label = self._routed.category_label if self._routed else ""
        for task_id in list(self._open):
            a = self._assignments[task_id]
            await self._notify(
                Notification(
                    id=f"{task_id}:repeat:{n}",
                    kind=NotificationKind.info,
                    event="repeat",
                    case_id=self._case_id,
                    task_id=task_id,
                    to=[Recipient(address=a.office.mailbox, name=a.office.name)],
                    urgent=True,
                    context={
                        "office_name": a.office.name,
                        "category_label": label or self._inp.intake.category,
                        "category": self._inp.intake.category,
                        "headline": f"重复来电：劳动者再次反映本诉求（第{n + 1}次来电）",
                        "text": (
                            f"劳动者就本诉求再次来电，已并入本件办理，优先级提高至{priority}。"
                            "请尽快办理并答复。"
                        ),
                        "summary_masked": summary,
                    },
                    created_at=workflow.now(),
                )
            )
        return self._answer()

    @repeat.validator
    def _validate_repeat(self, inp: RepeatInput) -> None:
        self._check_clerk(inp.actor)
        self._check_active()

    async def _notify(self, n: Notification) -> None:
        try:
            await workflow.start_child_workflow(
                NotificationWorkflow.run,
                n,
                id=f"mail-{n.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except Exception as e:  # noqa: BLE001 - already handed over: once is enough
            workflow.logger.info("notice %s not started again: %s", n.id, e)

    # ---- concentrated grievances --------------------------------------------------

    async def _join_clusters(self) -> None:
        form = self._inp.intake
        d = self._decisions[-1] if self._decisions else None
        try:
            joined: JoinClustersResult = await compute(
                ClusterActivities.join_clusters,
                JoinClustersRequest(
                    case_id=self._case_id,
                    category=form.category,
                    platform=form.platform,
                    place=form.incident or form.workplace,
                    region=d.lead.office.region if d else form.workplace,
                    department=d.lead.office.department if d else None,
                    opened_at=self._opened_at,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                # One local attempt, then the queue (patches.JOIN_CLUSTERS_LOCAL_ONCE).
                local=patches.taken(patches.JOIN_CLUSTERS_LOCAL_ONCE),
                once=True,
                schedule_to_close_timeout=JOIN_GIVE_UP,
                retry_policy=JOIN_RETRY,
            )
        except ActivityError as e:
            workflow.logger.error("case %s joined no cluster: %s", self._case_id, e.cause or e)
            return
        self._clusters = list(joined.clusters)

    @workflow.signal(name=CLUSTER_LEAD_SIGNAL)
    async def cluster_lead(self, sig: ClusterLeadSignal) -> None:
        if self._cluster_lead == sig.office.name:
            return  # told again after the cluster continued as new
        self._cluster_lead = sig.office.name
        await self._record(
            "joint_handling",
            sig.actor,
            f"联合处置：{sig.office.name} 牵头（集中诉求 {sig.cluster_id}）：{sig.reason}",
            {"cluster": sig.cluster_id, "office": sig.office.id},
        )

    @workflow.signal(name=CLUSTER_REPLY_SIGNAL)
    async def cluster_reply(self, sig: ClusterReplySignal) -> None:
        """The lead office's coordinated reply is this case's reply; its own tasks end."""
        if sig.cluster_id in self._cluster_replies:
            return
        self._cluster_replies.append(sig.cluster_id)
        data: dict[str, object] = {"cluster": sig.cluster_id, "office": sig.office_name}
        if self._status not in (CaseStatus.open, CaseStatus.in_review):
            await self._record(
                "joint_reply", sig.actor, f"{sig.office_name}（已{self._status.value}）", data
            )
            return
        self._reply = sig.text
        self._status = CaseStatus.awaiting_callback
        self._review_due = None
        await self._record("replied", sig.actor, sig.text, {**data, "outcome": "joint"})
        await self._cancel_open(f"answered jointly by {sig.office_name} ({sig.cluster_id})")
        # As after the case's own reply: the clerks call the worker back by a due time.
        if patches.taken(patches.CALLBACK_CLOCK):
            await self._start_callback_clock()
