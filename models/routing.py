"""Routing facts and decisions: what the router is asked and what it answers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.common import JurisdictionBasis, Occupation


class TaskRole(StrEnum):
    lead = "lead"  # 主办
    co = "co"  # 协办
    liaison = "liaison"  # a platform's answer (政企协同)


class RoutingFacts(BaseModel):
    """The facts of a case that rules may match on; carries no personal data."""

    category: str
    occupation: Occupation
    platform: str | None = None
    summary: str = ""
    residence: str
    workplace: str
    incident: str | None = None


class OfficeKey(BaseModel, frozen=True):
    department: str
    region: str

    def __str__(self) -> str:
        return f"{self.department}@{self.region}"


class Office(BaseModel):
    """One department's office in one region, as the directory describes it."""

    id: str
    department: str
    region: str
    name: str
    mailbox: str
    head_mailbox: str | None = None
    handlers: list[str] = Field(default_factory=list)
    office_hours: list[str] = Field(default_factory=list)  # empty: the default hours

    @property
    def key(self) -> OfficeKey:
        return OfficeKey(department=self.department, region=self.region)


class EscalationContacts(BaseModel):
    """Who hears about a task's clocks: its office, the office head, the city-level
    department, 社会工作部 (督办) and city leadership (挂牌督办)."""

    office: str
    head: str | None = None
    city_department: str | None = None
    supervision: str | None = None
    leadership: str | None = None
    lead_office: str | None = None  # a platform liaison task escalates to the lead office

    def addresses(self, roles: list[str]) -> list[str]:
        found: list[str] = []
        for role in roles:
            address = getattr(self, role, None) or (self.office if role == "head" else None)
            if address and address not in found:
                found.append(address)
        return found


class Assignment(BaseModel):
    """One office the decision gives the case to, and why that office."""

    role: TaskRole
    office: Office
    basis: JurisdictionBasis
    basis_region: str
    external: bool = False
    fallback_reason: str | None = None  # for people: why this office and not the usual one
    # For the workflow: no office is left that may take the case on its own, so a
    # supervisor must designate the owner (派单异议审核).
    needs_designation: bool = False
    contacts: EscalationContacts | None = None


class RoutingDecision(BaseModel):
    rule_id: str
    rules_version: str
    sla_plan: str
    lead: Assignment
    co: list[Assignment] = Field(default_factory=list)
    liaison: Assignment | None = None  # the platform's liaison task, when the rule asks
    explanation: list[str] = Field(default_factory=list)


class RouteRequest(BaseModel):
    """Input of the routing activity."""

    facts: RoutingFacts
    exclude: list[OfficeKey] = Field(default_factory=list)
    sla_plan_override: str | None = None
    # A return names the department its office believes owns the case: try it first.
    prefer_department: str | None = None
    prefer_region: str | None = None
    urgent: bool = False  # an urgent case takes the deployment's `urgent` plan if it has one
    # False when re-routing: the roster and the special plans (the first routing's are
    # the case's) would only fill the history again.
    roster: bool = True
    placements: bool = True  # False: the roster without its office placements


class ResolveOfficeRequest(BaseModel):
    """Input of the activity that finds the office for a transfer target."""

    department: str
    region: str


class Roster(BaseModel):
    """Who may act at case level; recorded in history so validators stay pure."""

    clerks: list[str] = Field(default_factory=list)
    supervisors: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    plans: list[str] = Field(default_factory=list)
    # "department@region" → the office id a designation there lands on, so the
    # designate validator can refuse an office that has had the case twice.
    placements: dict[str, str] = Field(default_factory=dict)


class PlanRequest(BaseModel):
    name: str


class RoutedCase(BaseModel):
    """What the routing activity records in history: the decision and all it implies."""

    decision: RoutingDecision
    plan: SlaPlan
    roster: Roster
    category_label: str = ""
    # Plans for the special tasks, when the deployment has them: external_handoff,
    # platform_liaison.
    special_plans: dict[str, SlaPlan] = Field(default_factory=dict)


from models.sla import SlaPlan  # noqa: E402  (models.sla imports nothing from here)

RoutedCase.model_rebuild()
