"""What the scheduled digests carry between their workflows and activities."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from models.notify import Recipient


class DigestInput(BaseModel):
    """A run of a scheduled digest. ``scheduled_for`` is the run's nominal time; a
    Schedule leaves it empty and the workflow reads TemporalScheduledStartTime (a run
    caught up late still reports the day it was for)."""

    scheduled_for: datetime | None = None


class DigestPlanRequest(BaseModel):
    at: datetime


class OfficeDigest(BaseModel):
    office_id: str
    office_name: str
    mailbox: str
    open_tasks: int
    overdue: list[str] = Field(default_factory=list)  # one line per task and clock
    due_today: list[str] = Field(default_factory=list)


class DigestPlan(BaseModel):
    day: date
    working_day: bool
    offices: list[OfficeDigest] = Field(default_factory=list)


class DigestResult(BaseModel):
    day: date
    working_day: bool
    mailed: list[str] = Field(default_factory=list)  # office ids handed to the mailer
    already: list[str] = Field(default_factory=list)  # offices this day's digest had reached


class WeeklyPlanRequest(BaseModel):
    at: datetime


class SupervisorReport(BaseModel):
    """One supervisor's weekly report: the figures of their region for the week."""

    to: Recipient
    scope_label: str
    regions: list[str] | None  # None: the whole deployment
    table: str  # the offices' rates, one line each, as the mail shows them


class WeeklyPlan(BaseModel):
    start: date
    end: date
    reports: list[SupervisorReport] = Field(default_factory=list)


class WeeklyResult(BaseModel):
    start: date
    end: date
    mailed: list[str] = Field(default_factory=list)
