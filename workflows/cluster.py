"""ClusterWorkflow: one concentrated grievance (集中诉求) key, e.g. 美团 · 拖欠劳动报酬.

Each new case whose key a cluster rule names joins by signal-with-start (the case's
``join_clusters`` activity), so the first case starts the workflow and the others
signal it. While fewer than ``threshold`` cases have joined within ``window`` the
cluster is *forming* and older members drop out as the window slides; once enough
have, it is *formed*: the city's 社会工作部 and the owning department's head are
mailed. A supervisor may then designate one lead office for every member (联合处置,
``designate``); that office gives one coordinated reply (``reply``), which each member
case takes as its reply — each worker is still called back on their own case.

A cluster that has been quiet for a whole window (and owes no reply) ends; the next
case with its key starts a new episode under the same workflow id. The history stays
bounded: after ``continue_after`` joins and actions, or ``continue_after_events``
history events, the workflow continues as new, carrying its state.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.clusters import ClusterActivities
    from activities.routing import RoutingActivities
    from models.clusters import (
        ClusterInput,
        ClusterLeadSignal,
        ClusterMember,
        ClusterMemberState,
        ClusterProjection,
        ClusterReplyInput,
        ClusterReplySignal,
        ClusterState,
        DesignateLeadInput,
    )
    from models.notify import Notification, NotificationKind, Recipient
    from models.routing import ResolveOfficeRequest
    from workflows import patches
    from workflows.notification import NotificationWorkflow
    from workflows.policies import COMPUTE_RETRY, COMPUTE_TIMEOUT, STORE_RETRY, STORE_TIMEOUT

JOIN_SIGNAL = "join"
CLUSTER_LEAD_SIGNAL = "cluster_lead"
CLUSTER_REPLY_SIGNAL = "cluster_reply"


def reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidAction", non_retryable=True)


def episode_id(workflow_id: str, first_at: datetime) -> str:
    """The read model's id of one episode: short, like a case id (CL-XXXXXXXXXX)."""
    digest = hashlib.sha256(f"{workflow_id}@{first_at.isoformat()}".encode()).digest()
    return "CL-" + base64.b32encode(digest).decode()[:10]


@workflow.defn
class ClusterWorkflow:
    @workflow.init
    def __init__(self, inp: ClusterInput) -> None:
        self._inp = inp
        self._s = inp.carried or ClusterState(cluster_id=inp.cluster_id)
        self._inbox: list[ClusterMember] = list(inp.pending)  # joins the last run left
        self._events = 0  # what this run has handled: joins and actions
        self._told: set[str] = set()  # members told of the lead in this run
        # Members this run has projected; a new run, or members dropped from the
        # window, sends the whole list once.
        self._sent: set[str] = set()
        self._replace = True
        self._slim = False  # patches.CLUSTER_SLIM_MEMBERS, decided when the run starts
        self._projecting = asyncio.Lock()  # the run and the updates project one at a time

    # ---- the run ------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ClusterInput) -> ClusterState:
        window = timedelta(seconds=inp.window_seconds)
        bounded = workflow.patched(patches.CLUSTER_BOUNDED_HISTORY)
        self._slim = bounded and workflow.patched(patches.CLUSTER_SLIM_MEMBERS)
        if bounded and inp.carried is not None:
            # The run before projected every member, and told each of the lead office,
            # before it continued as new (the loop projects and tells a change before
            # it looks at continuing): project and tell only new ones. Re-telling
            # every member at each run's start would fill the run it starts.
            self._sent = set(self._s.case_ids())
            self._told = set(self._sent)
            self._replace = False
        await self._tell_members()  # after continue-as-new: members that joined late
        while True:
            if not self._inbox:
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._inbox), timeout=self._next_deadline(window)
                    )
                except TimeoutError:
                    pass
            changed = await self._take_joins()
            now = workflow.now()
            if self._s.status == "forming":
                kept = [m for m in self._s.members if m.joined_at + window > now]
                if len(kept) != len(self._s.members):
                    changed = self._replace = True
                self._s.members = kept
                if len(kept) >= inp.threshold:
                    await self._form()
                    changed = True
            if changed:
                await self._project()
            if self._quiet(window):
                if self._s.row_id:
                    self._s.status = "ended"
                    await self._project()
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self._s
            if bounded and self._should_continue():
                # Joins keep coming to a busy cluster, so its inbox is seldom empty
                # here: the next run takes them.
                await self._continue_as_new(pending=list(self._inbox))
            if not bounded and self._events >= inp.continue_after and not self._inbox:
                await self._continue_as_new(pending=[])

    async def _continue_as_new(self, pending: list[ClusterMember]) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._s.runs += 1
        carry = {"carried": self._s, "pending": pending}
        workflow.continue_as_new(self._inp.model_copy(update=carry))

    def _should_continue(self) -> bool:
        info = workflow.info()
        return (
            self._events >= self._inp.continue_after
            or info.get_current_history_length() >= self._inp.continue_after_events
            or info.is_continue_as_new_suggested()
        )

    def _next_deadline(self, window: timedelta) -> timedelta | None:
        now = workflow.now()
        if not (self._s.ids or self._s.members):  # no list built to learn it is empty
            return None  # not reached: a cluster without members ends (see _quiet)
        if self._s.status == "forming":
            due = min(m.joined_at for m in self._s.members) + window
        elif self._s.status == "designated":
            return None  # the lead office owes its reply: no end before it
        else:
            assert self._s.last_at is not None
            due = self._s.last_at + window
        return max(due - now, timedelta(seconds=1))

    def _quiet(self, window: timedelta) -> bool:
        if self._inbox:
            return False
        if not (self._s.ids or self._s.members):  # no list built to learn it is empty
            return True
        if self._s.status == "designated" or self._s.last_at is None:
            return False
        return self._s.status != "forming" and self._s.last_at + window <= workflow.now()

    async def _take_joins(self) -> bool:
        changed = False
        known = set(self._s.case_ids())
        while self._inbox:
            m = self._inbox.pop(0)
            self._events += 1
            if m.case_id in known:
                continue  # a retried join activity: once is enough
            now = workflow.now()
            if not known:
                # A new episode (the first member, or the first after all dropped out).
                self._replace = True
                self._s = ClusterState(
                    cluster_id=self._inp.cluster_id,
                    row_id=episode_id(self._inp.cluster_id, now),
                    first_at=now,
                    runs=self._s.runs,
                    version=self._s.version,
                )
            self._s.members.append(ClusterMemberState(**m.model_dump(), joined_at=now))
            known.add(m.case_id)
            self._s.last_at = now
            changed = True
        if changed:
            await self._tell_members()
        return changed

    # ---- forming ---------------------------------------------------------------------

    async def _form(self) -> None:
        inp, s = self._inp, self._s
        s.status = "formed"
        s.formed_at = workflow.now()
        s.first_at = min(m.joined_at for m in s.members)
        to = []
        if inp.supervision_mailbox:
            to.append(
                Recipient(address=inp.supervision_mailbox, name="社会工作部", role="supervision")
            )
        heads = {m.head_mailbox for m in s.members if m.head_mailbox}
        for address in sorted(heads):
            if all(r.address != address for r in to):
                to.append(Recipient(address=address, name="部门负责人", role="head"))
        places = sorted({m.place for m in s.members})
        departments = sorted({m.department for m in s.members if m.department})
        await self._mail(
            Notification(
                id=f"{s.row_id}:formed",
                kind=NotificationKind.info,
                event="cluster-formed",
                case_id=s.row_id,
                to=to,
                urgent=True,
                context={
                    "office_name": "、".join(departments) or "—",
                    "category_label": inp.category_label or inp.category,
                    "category": inp.category,
                    "headline": (
                        f"集中诉求：{inp.key_label or inp.cluster_id}，"
                        f"{inp.window}内{len(s.members)}件"
                    ),
                    "text": (
                        f"集中诉求 {s.row_id} 已形成（规则 {inp.rule}：{inp.window}内达到"
                        f"{inp.threshold}件）。"
                        f"涉及诉求：{'、'.join(m.case_id for m in s.members)}；"
                        f"地点：{'、'.join(places)}。请研判是否指定牵头单位联合处置"
                        f"（appeals clusters designate {s.row_id}）。"
                    ),
                },
                created_at=workflow.now(),
            )
        )

    async def _mail(self, n: Notification) -> None:
        if not n.to:
            workflow.logger.warning("cluster notice %s has no recipient; not sent", n.id)
            return
        try:
            await workflow.start_child_workflow(
                NotificationWorkflow.run,
                n,
                id=f"mail-{n.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except Exception as e:  # noqa: BLE001 - already started: once is enough
            workflow.logger.info("cluster notice %s not started again: %s", n.id, e)

    # ---- joins ---------------------------------------------------------------------

    @workflow.signal(name=JOIN_SIGNAL)
    def join(self, member: ClusterMember) -> None:
        self._inbox.append(member)

    @workflow.query
    def state(self) -> ClusterState:
        return self._s

    # ---- 联合处置: designate a lead office, and its one reply ---------------------

    @workflow.update
    async def designate(self, inp: DesignateLeadInput) -> ClusterState:
        self._validate_designate(inp)
        try:
            a = await workflow.execute_activity_method(
                RoutingActivities.resolve_office,
                ResolveOfficeRequest(department=inp.department, region=inp.region),
                start_to_close_timeout=COMPUTE_TIMEOUT,
                retry_policy=COMPUTE_RETRY,
            )
        except ActivityError as e:
            raise reject(f"no office of {inp.department} serves {inp.region}: {e.cause}") from e
        self._events += 1
        s = self._s
        s.lead, s.designated_by, s.reason = a.office, inp.actor, inp.reason
        s.status = "designated"
        self._told.clear()
        await self._tell_members()
        await self._project()
        return s

    def _check_episode(self, episode: str | None) -> None:
        if episode is not None and episode != self._s.row_id:
            raise reject(
                f"cluster {episode} has ended; its key now clusters as {self._s.row_id or '—'}"
            )

    @designate.validator
    def _validate_designate(self, inp: DesignateLeadInput) -> None:
        self._check_episode(inp.episode)
        if inp.actor not in self._inp.supervisors:
            raise reject(f"{inp.actor} is not a supervisor; see `appeals staff --role supervisor`")
        if self._s.status != "formed":
            raise reject(
                f"cluster {self._s.row_id or self._inp.cluster_id} is {self._s.status}; "
                "a lead office is designated once, for a formed cluster"
            )
        if inp.department not in self._inp.departments:
            raise reject(f"unknown department {inp.department!r}")

    @workflow.update
    async def reply(self, inp: ClusterReplyInput) -> ClusterState:
        self._validate_reply(inp)
        self._events += 1
        s = self._s
        assert s.lead is not None
        s.reply, s.replied_by, s.replied_at = inp.text, inp.actor, workflow.now()
        s.status = "replied"
        for case_id in s.case_ids():
            await self._signal_case(
                case_id,
                CLUSTER_REPLY_SIGNAL,
                ClusterReplySignal(
                    cluster_id=s.row_id, office_name=s.lead.name, actor=inp.actor, text=inp.text
                ),
            )
        await self._project()
        return s

    @reply.validator
    def _validate_reply(self, inp: ClusterReplyInput) -> None:
        self._check_episode(inp.episode)
        s = self._s
        if s.status != "designated" or s.lead is None:
            raise reject(
                f"cluster {s.row_id or self._inp.cluster_id} is {s.status}; the coordinated "
                "reply comes from the designated lead office, once"
            )
        if inp.actor not in s.lead.handlers:
            raise reject(f"{inp.actor} is not a handler of the lead office {s.lead.name}")

    async def _tell_members(self) -> None:
        """Every member learns the lead office once (late joiners too)."""
        s = self._s
        if s.lead is None or s.designated_by is None:
            return
        for case_id in s.case_ids():
            if case_id in self._told:
                continue
            self._told.add(case_id)
            await self._signal_case(
                case_id,
                CLUSTER_LEAD_SIGNAL,
                ClusterLeadSignal(
                    cluster_id=s.row_id,
                    office=s.lead,
                    actor=s.designated_by,
                    reason=s.reason or "",
                ),
            )

    async def _signal_case(self, case_id: str, name: str, arg: object) -> None:
        try:
            await workflow.get_external_workflow_handle(case_id).signal(name, arg)
        except FailureError as e:  # a case that has finished needs nothing more
            workflow.logger.info("case %s did not take %s: %s", case_id, name, e)

    # ---- the read model --------------------------------------------------------------

    async def _project(self) -> None:
        async with self._projecting:
            await self._project_now()

    async def _project_now(self) -> None:
        s, inp = self._s, self._inp
        if not s.row_id or s.first_at is None or s.last_at is None:
            return
        s.version += 1
        fresh = [m for m in s.members if self._replace or m.case_id not in self._sent]
        replace, self._replace = self._replace, False
        self._sent = set(s.case_ids())
        await workflow.execute_activity_method(
            ClusterActivities.project_cluster,
            ClusterProjection(
                id=s.row_id,
                workflow_id=inp.cluster_id,
                version=s.version,
                rule=inp.rule,
                category=inp.category,
                platform=inp.platform,
                place=inp.place,
                status=s.status,
                threshold=inp.threshold,
                window=inp.window,
                first_at=s.first_at,
                last_at=s.last_at,
                formed_at=s.formed_at,
                lead_office_id=s.lead.id if s.lead else None,
                lead_office_name=s.lead.name if s.lead else None,
                designated_by=s.designated_by,
                reply=s.reply,
                replied_at=s.replied_at,
                size=len(self._sent),
                members=fresh,
                replace=replace,
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if self._slim and s.status != "forming":
            # In the read model now, and nothing after forming reads more than the case
            # id: the next runs carry 16 bytes for a member, not its places and offices.
            # Members that joined during the write stay whole until the next one.
            s.ids += [m.case_id for m in s.members if m.case_id in self._sent]
            s.members = [m for m in s.members if m.case_id not in self._sent]
