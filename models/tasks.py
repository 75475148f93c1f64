"""A department task (one office's share of a case): inputs, actions, results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.common import Code
from models.events import ProjectionBatch
from models.routing import Assignment, TaskRole
from models.sla import ClockState, SlaPlan

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TaskStatus(StrEnum):
    dispatched = "dispatched"
    accepted = "accepted"
    waiting_on_worker = "waiting_on_worker"  # 待补充材料: the reply clock is paused
    completed = "completed"
    returned = "returned"
    transferred = "transferred"
    cancelled = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (TaskStatus.dispatched, TaskStatus.accepted, TaskStatus.waiting_on_worker)


class Outcome(StrEnum):
    resolved = "resolved"
    partially_resolved = "partially_resolved"
    unresolvable = "unresolvable"
    not_in_scope = "not_in_scope"


OUTCOME_LABELS = {
    Outcome.resolved: "已解决",
    Outcome.partially_resolved: "部分解决",
    Outcome.unresolvable: "无法解决",
    Outcome.not_in_scope: "不属于受理范围",
}


class TaskInput(BaseModel):
    case_id: str
    task_id: str
    seq: int  # the task's number within its case: T1, T2, ...
    role: TaskRole
    assignment: Assignment
    category: str
    category_label: str = ""
    summary: str  # the matter; offices see it, but never the worker's name or phone
    plan: SlaPlan
    urgent: bool = False
    priority: int = 0
    reopened: bool = False
    designated: bool = False  # a supervisor designated this owner: no return
    awaiting: list[str] = Field(default_factory=list)  # co-handlers the lead waits for
    departments: list[str] = Field(default_factory=list)  # valid transfer targets
    regions: list[str] = Field(default_factory=list)
    clerks: list[str] = Field(default_factory=list)  # may record the worker's material
    supervisors: list[str] = Field(default_factory=list)  # may decide extensions
    # Set when a run of this task continued as new (patches.TASK_CONTINUES_AS_NEW): the
    # state the new run takes up; None for the task's first run.
    carried: TaskCarry | None = None


class AcceptInput(BaseModel):
    actor: Actor


class NoteInput(BaseModel):
    actor: Actor
    text: Reason


class CompleteInput(BaseModel):
    actor: Actor
    outcome: Outcome
    reply: Reason


class ReturnInput(BaseModel):
    actor: Actor
    reason: Reason
    owner: Code  # the department the returning office believes owns the case


class AddCohandlerInput(BaseModel):
    actor: Actor
    department: Code
    region: str | None = None
    reason: Reason


class ExternalReplyInput(BaseModel):
    """A clerk records what another region's hotline answered (外地转办回复)."""

    actor: Actor
    text: Reason


class LiaisonReplyInput(BaseModel):
    """A platform's liaison answers its task (政企协同)."""

    actor: Actor
    text: Reason


class Opinion(BaseModel):
    task_id: str
    role: TaskRole
    office_name: str
    outcome: Outcome | None = None
    text: str | None = None


class CoStatus(BaseModel):
    """Sent by the case to its lead task: whose opinions are still awaited."""

    pending: list[str] = Field(default_factory=list)  # office names
    opinions: list[Opinion] = Field(default_factory=list)
    proceed: bool = False
    # Open co-handlers by "department@region" (their office's and the region they
    # were routed or asked for) → office name, so the lead cannot ask for one twice.
    busy: dict[str, str] = Field(default_factory=dict)
    # The lead's add-cohandler requests the case has taken (added or refused).
    requests_taken: list[str] = Field(default_factory=list)


class AddCohandlerSignal(BaseModel):
    """Sent by a lead task to its case: please add this co-handler."""

    task_id: str
    actor: str
    department: str
    region: str
    reason: str
    request_id: str | None = None  # acknowledged in CoStatus.requests_taken


class TransferInput(BaseModel):
    actor: Actor
    department: Code
    region: str | None = None
    reason: Reason


class RequestInfoInput(BaseModel):
    actor: Actor
    question: Reason


class ProvideInfoInput(BaseModel):
    actor: Actor
    text: Reason


class ExtendInput(BaseModel):
    actor: Actor
    period: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=8)]
    reason: Reason
    clock: str = "reply"


class DecideExtensionInput(BaseModel):
    actor: Actor
    clock: str = "reply"
    reason: str | None = None


class ChangePlanSignal(BaseModel):
    plan: SlaPlan
    actor: str
    reason: str


class UrgeSignal(BaseModel):
    actor: str
    text: str
    priority: int


class CancelInput(BaseModel):
    """Sent by the case (withdrawal); not a handler action."""

    reason: str


class ActionAnswer(BaseModel):
    """What the person who acted is told: the task's status after the action, and the
    version of its row that shows it (None from older runs)."""

    task_id: str
    status: TaskStatus
    version: int | None = None


MOVING_ON = "TaskMovingOn"
"""The type of a task validator's refusal while the task's run winds down to continue as
new: nothing was applied, and the same action sent again reaches the new run
(services.temporal.update sends it again)."""


class ActionResult(ActionAnswer):
    """A task's answer to an action (the Update's result). ``version``: the projection
    of the task that shows the action. ``projection``: that projection itself, the row
    with the clocks the action changed (TaskBase._keep_for_answer) and the action's
    audit events (patches.ANSWER_CARRIES_PROJECTION), which the API writes at once
    instead of waiting for the read model to reach the version; the person is told the
    rest (an ActionAnswer)."""

    projection: ProjectionBatch | None = None
    clocks_since: int | None = None  # the projection holds the clocks changed since


class TaskResult(BaseModel):
    """How a task ended; the case decides what happens next."""

    task_id: str
    role: TaskRole
    status: TaskStatus
    department: str
    region: str
    actor: str | None = None
    outcome: Outcome | None = None
    reply: str | None = None
    reason: str | None = None
    owner: str | None = None  # a return's suggested owner
    transfer_department: str | None = None
    transfer_region: str | None = None


class TaskState(BaseModel):
    """What the task's query returns."""

    case_id: str
    task_id: str
    role: TaskRole
    status: TaskStatus
    department: str
    region: str
    office_name: str
    handlers: list[str]
    clocks: list[ClockState]
    dispatched_at: datetime
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: Outcome | None = None
    reply: str | None = None
    notes: list[str] = Field(default_factory=list)
    designated: bool = False
    return_until: datetime | None = None
    waiting_for: list[str] = Field(default_factory=list)  # co-handlers' opinions awaited
    may_proceed: bool = False  # a supervisor let the lead reply without them
    opinions: list[Opinion] = Field(default_factory=list)


class TaskChanged(BaseModel):
    """Sent by a task to its case when its status changes (patches.TASK_TELLS_STATUS).

    The case needs no more: the assignment it started the task with says who and
    where, and the task's own query (or the read model) has the rest. Before, each
    change sent the whole TaskState (every clock, note and opinion), so a task's
    history and its case's grew with the square of its notes. A TaskState sent by
    an older task decodes as this too (the other fields are ignored).
    """

    task_id: str
    status: TaskStatus
    version: int = 0  # the task's projection version when it was sent


class TaskBrief(BaseModel):
    """The case's view of one of its tasks (CaseState.tasks): ids, office, status.
    Clocks, notes and opinions: the task's own ``state`` query or the read model."""

    task_id: str
    role: TaskRole
    status: TaskStatus
    department: str
    region: str
    office_name: str
    handlers: list[str] = Field(default_factory=list)
    designated: bool = False  # a supervisor designated this owner (派单异议审核)
    version: int = 0  # the task's projection version at its last status change


class TaskCarry(BaseModel):
    """What a task's run hands to the next when it continues as new
    (patches.TASK_CONTINUES_AS_NEW): everything its handlers and clocks read, and the
    numbering of its audit events and projections, so that keys never repeat."""

    runs: int  # runs before the new one
    status: TaskStatus
    dispatched_at: datetime
    accepted_at: datetime | None = None
    return_until: datetime | None = None
    priority: int = 0
    notes: list[str] = Field(default_factory=list)  # the latest few (the timeline has all)
    co: CoStatus = Field(default_factory=CoStatus)
    co_asked: dict[str, str] = Field(default_factory=dict)
    clocks: list[ClockState] = Field(default_factory=list)
    urgent: bool = False
    noted: list[str] = Field(default_factory=list)  # breaches noted before their mail
    events: int = 0  # audit events numbered so far
    version: int = 0  # the newest projection version (written before the run ended)
    told: TaskStatus | None = None  # the status the case heard last
    new_task_mail_at: datetime | None = None  # the new-task mail waits for office hours
    patches: list[str] = Field(default_factory=list)  # the patch ids the runs took


TaskInput.model_rebuild()
