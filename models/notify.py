"""Notifications (e-mail) as they travel from a workflow to the notify activity."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class NotificationKind(StrEnum):
    warning = "warning"  # a clock passed a warning fraction (预警)
    breach = "breach"  # a clock ran out: a rung of the escalation ladder (超时升级)
    urge = "urge"  # a supervisor's 督办
    info = "info"  # anything else worth telling an office (e.g. an extension decided)
    task = "task"  # a new task for the office: what to do and by when (新工单)
    digest = "digest"  # an office's working-day morning digest (每日提醒)
    report = "report"  # a supervisor's weekly figures, with the rates chart (周报)


class Recipient(BaseModel):
    address: str
    name: str | None = None  # e.g. the office's name, for the greeting line
    role: str = "office"  # office, head, city_department, supervision, leadership, liaison


class Notification(BaseModel):
    """One e-mail to send. ``id`` is the notification's identity (e.g.
    ``AP-XXXX-T1:reply:rung-2``): the Message-ID derives from it, so a retried send is
    recognisable, and the outbox keeps one row per id."""

    id: str
    kind: NotificationKind
    event: str  # X-Appeals-Event: warning-50, warning-75, rung-1, rung-2, rung-3, urge, ...
    case_id: str
    task_id: str | None = None
    clock: str | None = None  # X-Appeals-Clock: sign_for, reply, statutory, ...
    to: list[Recipient]
    urgent: bool = False
    # What the templates show; never the worker's name, phone or ID number unmasked.
    context: dict[str, str] = Field(default_factory=dict)
    created_at: datetime


class SendResult(BaseModel):
    notification_id: str
    message_id: str
    sent_at: datetime


class SupervisorsRequest(BaseModel):
    """The supervisors whose region covers ``region`` (the city's cover every region)."""

    region: str


class ClerkHeadRequest(BaseModel):
    """The head of the office an intake clerk works in (回访 escalates there)."""

    clerk: str


class Recipients(BaseModel):
    to: list[Recipient] = Field(default_factory=list)
