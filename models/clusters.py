"""Repeat appeals (重复来电) and concentrated grievances (集中诉求): what crosses the
case and cluster workflows' boundaries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from models.common import Channel, Code
from models.routing import Office
from models.tasks import Actor, Reason

# ---- repeat appeals -------------------------------------------------------------------


class RepeatInput(BaseModel):
    """The same worker called again about an open case: merged into it, not a new case."""

    actor: Actor
    request_id: str  # the new call's request id: the same call merged twice is merged once
    channel: Channel = Channel.hotline
    summary: str = ""  # what the worker said this time, in the clerk's words
    matched_on: list[str] = Field(default_factory=list)  # "phone", "id_number"


# ---- concentrated grievances ------------------------------------------------------------


class ClusterMember(BaseModel):
    """A case joining a cluster (signal-with-start from the case's join activity)."""

    case_id: str
    opened_at: datetime
    region: str  # the lead office's region: whose supervisors see the cluster
    place: str  # the incident place, else the workplace
    department: str | None = None  # the lead office's department
    head_mailbox: str | None = None  # that department's city-level head (the alert)


class ClusterMemberState(ClusterMember):
    joined_at: datetime


class ClusterInput(BaseModel):
    """A cluster's key and rule, and — after continue-as-new — what it carries over."""

    cluster_id: str  # the workflow id: CL-<rule>-<category>-<platform or place>
    rule: str
    category: str
    category_label: str = ""
    platform: str | None = None
    place: str | None = None
    key_label: str = ""  # e.g. 美团 · 拖欠劳动报酬, for people and mail
    threshold: int
    window: str  # a period, e.g. 7d
    window_seconds: int
    supervision_mailbox: str | None = None  # the city's 社会工作部
    supervisors: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    # Continue-as-new after this many joins and actions, or once the run's history has
    # this many events (patches.CLUSTER_BOUNDED_HISTORY): a join costs about twelve, and
    # a worker that lost the cluster from its cache replays the run for the next join.
    continue_after: int = 400
    continue_after_events: int = 600
    carried: ClusterState | None = None
    # Joins the previous run had not taken when it continued as new.
    pending: list[ClusterMember] = Field(default_factory=list)


class ClusterState(BaseModel):
    cluster_id: str
    row_id: str = ""  # the read model's id of this episode
    status: str = "forming"
    members: list[ClusterMemberState] = Field(default_factory=list)
    # Members of a formed cluster kept by case id alone, once projected: nothing after
    # forming needs their places or offices (patches.CLUSTER_SLIM_MEMBERS). Earlier
    # joiners than ``members``.
    ids: list[str] = Field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None
    formed_at: datetime | None = None
    lead: Office | None = None
    designated_by: str | None = None
    reason: str | None = None
    reply: str | None = None
    replied_by: str | None = None
    replied_at: datetime | None = None
    version: int = 0
    runs: int = 1  # this episode's runs (continue-as-new)

    def case_ids(self) -> list[str]:
        """Every member's case id, in the order they joined."""
        return [*self.ids, *(m.case_id for m in self.members)]


class DesignateLeadInput(BaseModel):
    """联合处置: one office leads every member of the cluster."""

    actor: Actor
    department: Code
    region: str
    reason: Reason
    episode: str | None = None  # the cluster row the supervisor saw (CL-…): not a later one


class ClusterReplyInput(BaseModel):
    """The lead office's one coordinated reply to every member."""

    actor: Actor
    text: Reason
    episode: str | None = None


class ClusterLeadSignal(BaseModel):
    cluster_id: str
    office: Office
    actor: str
    reason: str


class ClusterReplySignal(BaseModel):
    cluster_id: str
    office_name: str
    actor: str
    text: str


class ClusterProjection(BaseModel):
    """One cluster episode as the read model keeps it."""

    id: str
    workflow_id: str
    version: int
    rule: str
    category: str
    platform: str | None
    place: str | None
    status: str
    threshold: int
    window: str
    first_at: datetime
    last_at: datetime
    formed_at: datetime | None
    lead_office_id: str | None
    lead_office_name: str | None
    designated_by: str | None
    reply: str | None
    replied_at: datetime | None
    size: int = 0
    # Only the members the read model does not have yet, so that history grows by what
    # changed; ``replace``: these are all of them (some slid out of the window).
    members: list[ClusterMemberState]
    replace: bool = False


class JoinClustersRequest(BaseModel):
    """Input of the activity that feeds a new case to its clusters; no personal data."""

    case_id: str
    category: str
    platform: str | None
    place: str
    region: str
    department: str | None
    opened_at: datetime


class JoinClustersResult(BaseModel):
    clusters: list[str] = Field(default_factory=list)


ClusterInput.model_rebuild()
