"""SLA plans and the clocks they put on a task, as they travel through workflows.

A clock keeps a *budget* and a *ledger* (time spent, pauses, extensions), never
just a date: its due time is derived from them by the clock activity, so a pause,
an extension or a change of plan moves it exactly and visibly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field


class Rung(BaseModel):
    """One step of the escalation ladder (超时升级)."""

    rung: int
    after: str = "0m"  # after the previous rung (rung 1: after the breach itself)
    to: list[str]  # head, office, city_department, supervision, leadership, lead_office


DEFAULT_LADDER = [
    Rung(rung=1, after="0m", to=["head"]),
    Rung(rung=2, after="1wd", to=["city_department", "supervision"]),
    Rung(rung=3, after="3wd", to=["leadership"]),
]


class ClockSpec(BaseModel):
    """One named clock of a plan, e.g. sign-for (签收) within 1wd."""

    name: str
    label: str
    period: str  # "<N><unit>": wd, d, h, wh, m (see sla.periods)
    starts_on: str = "dispatched"  # dispatched or accepted
    stops_on: str  # the task event that stops it: "accepted" or "completed"
    roles: list[str] = Field(default_factory=lambda: ["lead", "co"])
    warnings: list[float] = Field(default_factory=lambda: [0.5, 0.75])
    ladder: list[Rung] = Field(default_factory=lambda: list(DEFAULT_LADDER))
    pausable: bool = False
    max_pause: str | None = None  # total pause allowed, e.g. 10wd
    max_extension: str | None = None  # total extension allowed, e.g. 10wd
    max_extensions: int | None = None  # how many extensions may be approved


class SlaPlan(BaseModel):
    name: str
    label: str
    clocks: list[ClockSpec]
    return_window: str = "2wd"  # a return (退单) is allowed this long after dispatch
    review: str = "1wd"  # a supervisor designates the owner of a case in review within this
    callback: str = "3wd"  # a clerk calls the worker back (回访) within this of the reply


class ClockStatus(StrEnum):
    pending = "pending"  # waits for its start event (e.g. the statutory clock starts on accept)
    running = "running"
    paused = "paused"
    stopped = "stopped"


class Pause(BaseModel):
    started_at: datetime
    ended_at: datetime | None = None
    reason: str
    by: str
    resumed_by: str | None = None
    worked: timedelta | None = None  # the pause's length in the clock's own time


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"


class Extension(BaseModel):
    n: int
    period: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: ExtensionStatus = ExtensionStatus.pending
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    added: timedelta | None = None  # budget the approval added


class ClockEvent(BaseModel):
    """A point on a clock's way: a warning fraction or a rung of the ladder."""

    key: str  # warning-50, warning-75, rung-1, rung-2, rung-3, auto-resume
    kind: str  # warning, breach, auto_resume
    fraction: float | None = None
    rung: int | None = None
    recipients: list[str] = Field(default_factory=list)  # roles, resolved by the workflow
    at: datetime | None = None  # when the clock crosses it (None while paused)
    notify_at: datetime | None = None  # `at`, moved into the recipients' office hours
    fired_at: datetime | None = None


class ClockState(BaseModel):
    spec: ClockSpec
    status: ClockStatus = ClockStatus.pending
    mode: str = "working"  # working: budget counts office time; elapsed: wall time
    started_at: datetime | None = None
    budget: timedelta = timedelta(0)  # the period plus approved extensions
    spent: timedelta = timedelta(0)  # up to running_since (or the pause/stop)
    running_since: datetime | None = None
    due_at: datetime | None = None
    stopped_at: datetime | None = None
    pauses: list[Pause] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    events: list[ClockEvent] = Field(default_factory=list)
    plan: str | None = None
    urgent: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def breached(self) -> bool:
        return any(e.kind == "breach" and e.fired_at is not None for e in self.events)


class ClockOp(StrEnum):
    start = "start"
    pause = "pause"
    resume = "resume"
    extend = "extend"
    replan = "replan"
    reschedule = "reschedule"  # recompute notify times (e.g. the case became urgent)


class ClockRequest(BaseModel):
    """Input of the clock activity: one operation on one clock at one instant."""

    op: ClockOp
    clock: ClockState
    at: datetime
    period: str | None = None  # extend: the extension; replan: unused
    spec: ClockSpec | None = None  # replan: the new plan's clock
    plan: str | None = None
    office_hours: list[str] = Field(default_factory=list)
    urgent: bool = False


class DeadlineRequest(BaseModel):
    """Input of the activity that does calendar arithmetic (so replay never depends on it)."""

    start: datetime
    periods: list[str]
    department: str | None = None
    region: str | None = None


class DeadlineResult(BaseModel):
    due: list[datetime]
    calendar_notes: list[str] = Field(default_factory=list)


class OfficeTimeRequest(BaseModel):
    """When may mail that is not urgent go to an office: ``at`` if it is open then,
    else its next opening (its own hours, the default ones when empty)."""

    at: datetime
    office_hours: list[str] = Field(default_factory=list)


class OfficeTimeResult(BaseModel):
    at: datetime
