"""A case (诉求件): the grievance workflow's input, actions and state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.common import Code
from models.intake import IntakeForm
from models.routing import RoutingDecision
from models.tasks import Actor, Reason, TaskBrief, TaskResult


class CaseStatus(StrEnum):
    open = "open"
    in_review = "in_review"  # 派单异议审核: a supervisor designates the owner
    awaiting_callback = "awaiting_callback"
    closed = "closed"
    withdrawn = "withdrawn"


class CallbackResult(StrEnum):
    satisfied = "satisfied"
    unsatisfied = "unsatisfied"
    unreachable = "unreachable"


CALLBACK_LABELS = {
    CallbackResult.satisfied: "满意",
    CallbackResult.unsatisfied: "不满意",
    CallbackResult.unreachable: "无法联系",
}


class CaseInput(BaseModel):
    case_id: str
    intake: IntakeForm
    opened_by: str | None = None
    # Keyed hashes of the phone and ID number (services/repeats.py), projected so that a
    # later call from the same worker is found; never the numbers themselves.
    phone_hash: str | None = None
    id_hash: str | None = None
    repeat_of: str | None = None  # a recently closed case this one repeats (linked)


Remark = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class CallbackInput(BaseModel):
    actor: Actor
    result: CallbackResult
    remark: Remark | None = None  # what the worker said on the call, in the clerk's words


class WithdrawInput(BaseModel):
    actor: Actor
    reason: Reason


class UrgeInput(BaseModel):
    actor: Actor
    text: Reason


class SetPlanInput(BaseModel):
    actor: Actor
    plan: str
    reason: Reason


class ProceedInput(BaseModel):
    actor: Actor
    reason: Reason


class DesignateInput(BaseModel):
    actor: Actor
    department: Code
    region: str | None = None
    reason: Reason


class ReturnRecord(BaseModel):
    task_id: str
    department: str
    region: str
    owner: str | None
    actor: str | None
    reason: str | None


class CaseState(BaseModel):
    """What the case's query returns: its full state."""

    case_id: str
    status: CaseStatus
    category: str
    opened_at: datetime
    routing: list[RoutingDecision] = Field(default_factory=list)
    tasks: list[TaskBrief] = Field(default_factory=list)
    results: list[TaskResult] = Field(default_factory=list)
    reply: str | None = None
    callback: CallbackResult | None = None
    callback_remark: str | None = None
    reopened: bool = False
    priority: int = 0
    sla_plan: str | None = None
    returns: list[ReturnRecord] = Field(default_factory=list)
    review_due: datetime | None = None
    callback_due: datetime | None = None  # the callback (回访) is late after this
    proceeded: bool = False
    closed_at: datetime | None = None
    repeats: int = 0  # calls merged into this case (重复来电)
    clusters: list[str] = Field(default_factory=list)  # the ClusterWorkflows it joined
    cluster_lead: str | None = None  # the office leading its cluster's joint handling
    # Still reacting to something: a task that ended, a co-handler request, a task it
    # started that has not reported yet. Its tasks are then not yet what they will be.
    settling: bool = False


class CaseAck(BaseModel):
    """What a case's Update returns (patches.CASE_HISTORY_SLIM): the case, its status and
    the version of its read-model row after the action. The whole CaseState went into
    the history with every action; whoever needs it queries ``state`` (a query leaves
    no trace in the history). A CaseState returned by an older run decodes as this too.
    """

    case_id: str
    status: CaseStatus
    version: int = 0


def case_id_for(request_id: str) -> str:
    """The case id is derived from the client's request id, so opening the same
    request twice finds the same workflow instead of creating a second case."""
    import base64
    import hashlib

    digest = hashlib.sha256(request_id.encode()).digest()
    return "AP-" + base64.b32encode(digest).decode()[:10]
