"""What each YAML file of a rules directory may hold: one pydantic model per entry.

These models check one entry at a time (shapes, codes, periods); whether the entries
refer to each other correctly is checked by ``routing_rules.references``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from models.common import Code, JurisdictionBasis, Occupation, RegionCode, StaffRole
from models.sla import ClockSpec, SlaPlan
from sla.hours import OfficeHours
from sla.periods import PeriodStr

ANY_CATEGORY = "*"

_MAILBOX_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_mailbox(value: str) -> str:
    if not _MAILBOX_RE.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
DottedId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64
    ),
]
Mailbox = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_mailbox)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class _Entry(BaseModel):
    # Unquoted codes in YAML (root_region: 440100) arrive as ints; accept them as text.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class RegionLevel(StrEnum):
    province = "province"
    city = "city"
    district = "district"
    street = "street"

    @property
    def rank(self) -> int:
        """0 for a province, growing towards the street."""
        return list(RegionLevel).index(self)

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]


_LEVEL_LABELS = {
    RegionLevel.province: "省级 province",
    RegionLevel.city: "市级 city",
    RegionLevel.district: "区级 district",
    RegionLevel.street: "街道 street",
}


class Deployment(_Entry):
    """deployment.yaml: which regions this deployment covers and who takes leftovers."""

    name: Code
    label: Label
    root_region: RegionCode
    fallback_department: Code = "social_work"
    # City leadership's mailbox: the last rung of the escalation ladder (挂牌督办).
    leadership_mailbox: Mailbox | None = None
    # The department of the street offices (街道办事处). `rules check` refuses a rule that
    # gives it a category the catalogue assigns to another department (no pushing work
    # down to streets); null switches that check off.
    street_department: Code | None = "subdistrict"


class Region(_Entry):
    code: RegionCode
    name: Label
    level: RegionLevel
    parent: RegionCode | None = None


def _check_hours(value: list[str] | None) -> list[str] | None:
    if value is not None:
        OfficeHours.model_validate(value)  # windows parse, in order, not overlapping
    return value


# Office hours as written in YAML, e.g. ["08:30-12:00", "14:00-18:00"]; checked by
# sla.hours.OfficeHours and kept as text so they travel with the office.
HoursText = Annotated[list[str] | None, AfterValidator(_check_hours)]


class Department(_Entry):
    code: Code
    name: Label
    short: Label | None = None
    office_hours: HoursText = None  # every office of the department, unless it says otherwise


class OfficeEntry(_Entry):
    """An office as written in offices.yaml; routing hands out ``models.routing.Office``."""

    id: DottedId
    department: Code
    region: RegionCode
    name: Label
    mailbox: Mailbox
    head_mailbox: Mailbox | None = None
    office_hours: HoursText = None  # this office's own hours (wins over its department's)


class Platform(_Entry):
    code: Code
    name: Label
    domicile: RegionCode
    domicile_name: Label | None = Field(
        default=None, description="name of the domicile when it is outside the deployment"
    )
    liaison_mailbox: Mailbox


class StaffMember(_Entry):
    id: DottedId
    name: Label
    role: StaffRole
    department: Code
    region: RegionCode
    office: DottedId | None = None
    # A platform's liaison (政企协同) names the platform they answer for; they handle
    # that platform's liaison tasks.
    platform: Code | None = None
    # An office head (科室负责人) is a handler who also sees the office's figures.
    head: bool = False
    # Where a supervisor is told of what waits for them (an extension request).
    mailbox: Mailbox | None = None

    @model_validator(mode="after")
    def _handler_has_office(self) -> StaffMember:
        if self.role is StaffRole.handler and self.office is None:
            raise ValueError("a handler must name the office they work in (office: <office id>)")
        if self.platform is not None and self.role is not StaffRole.liaison:
            raise ValueError(f"only a liaison names a platform (this member's role is {self.role})")
        if self.head and self.role is not StaffRole.handler:
            raise ValueError("only a handler can be an office head (head: true)")
        return self


class Category(_Entry):
    code: Code
    label: Label
    # The dispatch catalogue (派单目录): the department the matter belongs to.
    owner: Code | None = None


_HOTLINE_PREFIX = r"^\d{2,9}$"


class Hotline(_Entry):
    """external_hotlines.yaml: the hotline of regions outside the deployment whose code
    starts with ``prefix`` (the longest matching prefix wins)."""

    prefix: Annotated[str, StringConstraints(strip_whitespace=True, pattern=_HOTLINE_PREFIX)]
    name: Label
    mailbox: Mailbox


class DefaultHotline(_Entry):
    """external_hotlines.yaml ``default``: for external regions no prefix matches."""

    name: Label
    mailbox: Mailbox


class RungEntry(_Entry):
    rung: int = Field(ge=1, le=9)
    # "0m": at once (rung 1 fires at the breach itself); otherwise a period after the
    # previous rung.
    after: Literal["0m"] | PeriodStr = "0m"
    to: list[
        Literal["head", "office", "city_department", "supervision", "leadership", "lead_office"]
    ] = Field(min_length=1)


class ClockEntry(_Entry):
    name: Code
    label: Label
    period: PeriodStr  # checked and normalised by sla.periods.Period.parse
    starts_on: Literal["dispatched", "accepted"] = "dispatched"
    stops_on: Literal["accepted", "completed"]
    roles: list[Literal["lead", "co", "liaison"]] = Field(default_factory=lambda: ["lead", "co"])  # type: ignore[arg-type]
    warnings: list[float] = Field(default_factory=lambda: [0.5, 0.75])
    ladder: list[RungEntry] | None = None  # None: the default three-rung ladder
    pausable: bool = False
    max_pause: PeriodStr | None = None
    max_extension: PeriodStr | None = None
    max_extensions: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _sane(self) -> ClockEntry:
        if any(not 0 < w < 1 for w in self.warnings):
            raise ValueError("warnings are fractions strictly between 0 and 1, e.g. [0.5, 0.75]")
        if self.ladder is not None:
            if not self.ladder:
                raise ValueError(
                    "an empty ladder would escalate to nobody; leave it out for "
                    "the default three rungs"
                )
            rungs = [r.rung for r in self.ladder]
            if rungs != list(range(1, len(rungs) + 1)):
                raise ValueError("ladder rungs must be numbered 1, 2, 3 … in order")
        if self.pausable and self.max_pause is None:
            raise ValueError("a pausable clock needs max_pause, so a case cannot be parked forever")
        if not self.pausable and self.max_pause is not None:
            raise ValueError("max_pause is given but the clock is not pausable")
        if self.max_extensions is not None and self.max_extension is None:
            raise ValueError("max_extensions needs max_extension (the total that may be granted)")
        return self


class PlanEntry(_Entry):
    name: Code
    label: Label
    clocks: list[ClockEntry] = Field(min_length=1)
    return_window: PeriodStr = "2wd"  # a return (退单) is allowed this long after dispatch
    review: PeriodStr = "1wd"  # a case in dispatch review gets its owner designated within this
    callback: PeriodStr = "3wd"  # the worker is called back (回访) within this of the reply

    @model_validator(mode="after")
    def _unique_clocks(self) -> PlanEntry:
        names = [clock.name for clock in self.clocks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"clock names must be unique, repeated: {', '.join(duplicates)}")
        return self

    def to_plan(self) -> SlaPlan:
        return SlaPlan(
            name=self.name,
            label=self.label,
            return_window=self.return_window,
            review=self.review,
            callback=self.callback,
            clocks=[
                ClockSpec.model_validate(
                    c.model_dump(exclude_none=True, exclude={"ladder"})
                    | ({"ladder": [r.model_dump() for r in c.ladder]} if c.ladder else {})
                )
                for c in self.clocks
            ],
        )


class Match(_Entry):
    """What a case must have for a rule to apply; a field left out matches anything."""

    categories: list[str]
    occupations: list[Occupation] | None = None
    platforms: list[Code] | None = None
    keywords: list[Keyword] | None = None

    @model_validator(mode="after")
    def _categories(self) -> Match:
        if ANY_CATEGORY in self.categories and len(self.categories) > 1:
            raise ValueError(f"categories: {ANY_CATEGORY!r} means any category and stands alone")
        bad = [c for c in self.categories if c != ANY_CATEGORY and not re.match(r"^[a-z]\w*$", c)]
        if bad:
            raise ValueError(f"categories: {bad[0]!r} is not a category code")
        return self

    @property
    def any_category(self) -> bool:
        return self.categories == [ANY_CATEGORY]


class Lead(_Entry):
    department: Code
    basis: JurisdictionBasis


class CoHandler(_Entry):
    department: Code
    basis: JurisdictionBasis | None = Field(
        default=None, description="jurisdiction basis; the lead's basis when not given"
    )


class Rule(_Entry):
    id: Code
    label: str = ""
    priority: int
    match: Match
    lead: Lead
    co: list[CoHandler] = Field(default_factory=list)
    sla_plan: Code
    # Add a platform liaison task (政企协同) when the case names a known platform.
    platform_liaison: bool = False

    def co_basis(self, co: CoHandler) -> JurisdictionBasis:
        return co.basis or self.lead.basis
