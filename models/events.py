"""Audit events and read-model projections written by the store activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models.notify import Notification


class AuditEvent(BaseModel):
    """One line of a case's audit trail: who did what, when, and why.

    ``key`` is ``<workflow id>#<n>`` with n counted by that workflow, so a retried
    activity writes the same key and the store ignores the duplicate.
    """

    key: str
    case_id: str
    task_id: str | None = None
    at: datetime
    actor: str | None = None
    action: str
    detail: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CaseProjection(BaseModel):
    case_id: str
    version: int  # monotonic per case, so out-of-order writes never go backwards
    status: str
    request_id: str
    category: str
    occupation: str
    platform: str | None
    channel: str
    urgent: bool
    name: str
    phone: str
    id_number: str | None
    summary: str
    residence: str
    workplace: str
    incident: str | None
    opened_at: datetime
    sla_plan: str | None = None
    rule_id: str | None = None
    rules_version: str | None = None
    routing_explanation: str | None = None
    lead_department: str | None = None
    lead_region: str | None = None
    reply: str | None = None
    callback: str | None = None
    callback_remark: str | None = None
    priority: int = 0
    closed_at: datetime | None = None
    review_due: datetime | None = None  # a supervisor designates the owner by then
    callback_due: datetime | None = None  # the clerks call the worker back by then
    phone_hash: str | None = None
    id_hash: str | None = None
    repeat_of: str | None = None


class DeadlineProjection(BaseModel):
    """One clock as the read model keeps it; ``detail`` holds the ledger (pauses,
    extensions, warnings and rungs) for `show`."""

    clock: str
    label: str
    period: str
    status: str = "running"
    mode: str = "working"
    due_at: datetime | None = None
    stopped_at: datetime | None = None
    started_at: datetime | None = None
    budget_seconds: int = 0
    spent_seconds: int = 0
    running_since: datetime | None = None
    breached: bool = False
    detail: dict[str, Any] = Field(default_factory=dict)


class TaskProjection(BaseModel):
    task_id: str
    case_id: str
    version: int
    seq: int
    role: str
    status: str
    department: str
    region: str
    office_id: str
    office_name: str
    category: str
    dispatched_at: datetime
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    reply: str | None = None
    priority: int = 0
    deadlines: list[DeadlineProjection] = Field(default_factory=list)


class ProjectionBatch(BaseModel):
    """One store activity call: upserts and events written in one transaction."""

    case: CaseProjection | None = None
    task: TaskProjection | None = None
    events: list[AuditEvent] = Field(default_factory=list)
    # E-mails to queue for the outbox relay in the same transaction
    # (patches.MAIL_THROUGH_OUTBOX): the mail is queued exactly when the task's state
    # that decided it is written, and no workflow is started for it.
    mails: list[Notification] = Field(default_factory=list)
