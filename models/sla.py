"""SLA plans and deadlines as they travel through workflows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ClockSpec(BaseModel):
    """One named clock of a plan, e.g. sign-for (签收) within 1wd."""

    name: str
    label: str
    period: str  # "<N><unit>": wd, d, h, wh, m (see sla.periods)
    stops_on: str  # the task event that stops it: "accepted" or "completed"


class SlaPlan(BaseModel):
    name: str
    label: str
    clocks: list[ClockSpec]


class DeadlineRequest(BaseModel):
    """Input of the activity that does calendar arithmetic (so replay never depends on it)."""

    start: datetime
    periods: list[str]
    department: str | None = None
    region: str | None = None


class DeadlineResult(BaseModel):
    due: list[datetime]
    calendar_notes: list[str] = Field(default_factory=list)


class Deadline(BaseModel):
    clock: str
    label: str
    period: str
    stops_on: str
    due_at: datetime
    stopped_at: datetime | None = None
