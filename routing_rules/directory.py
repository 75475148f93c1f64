"""The routing directory: regions, departments, offices, platforms, staff, categories
and the hotlines of regions outside the deployment.

Besides lookups, it answers the one question every routing step asks: which office of
a department serves a region (``place``), going from the street up to the city and
falling back to the deployment's fallback department (社会工作部) when it must; a
region outside the deployment goes to that region's hotline (external hand-off).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from models.common import JurisdictionBasis, StaffRole
from models.routing import Assignment, Office, OfficeKey, Roster, TaskRole
from routing_rules.schema import (
    Category,
    DefaultHotline,
    Department,
    Deployment,
    Hotline,
    OfficeEntry,
    Platform,
    Region,
    RegionLevel,
    StaffMember,
)

EXTERNAL_HOTLINE = "external_hotline"
"""The department code of a synthesized external hotline office (``hotline.<region>``)."""
PLATFORM = "platform"
"""The department code of a synthesized platform liaison office (``platform.<code>``)."""


@dataclass(frozen=True)
class Placement:
    """The office chosen for one department in one region, and how it was chosen."""

    office: Office
    external: bool = False
    fallback_reason: str | None = None
    # Routing ran out of offices that may take it: only a supervisor can name the owner.
    needs_designation: bool = False
    notes: list[str] = field(default_factory=list)


class Directory:
    """Read-only lookups over the directory files of one deployment."""

    def __init__(
        self,
        *,
        deployment: Deployment,
        regions: Iterable[Region],
        departments: Iterable[Department],
        offices: Iterable[OfficeEntry],
        platforms: Iterable[Platform],
        staff: Iterable[StaffMember],
        categories: Iterable[Category],
        hotlines: Iterable[Hotline] = (),
        default_hotline: DefaultHotline | None = None,
    ) -> None:
        self.deployment = deployment
        self.regions: dict[str, Region] = {r.code: r for r in regions}
        self.departments: dict[str, Department] = {d.code: d for d in departments}
        self.platforms: dict[str, Platform] = {p.code: p for p in platforms}
        self.staff: dict[str, StaffMember] = {s.id: s for s in staff}
        self.categories: dict[str, Category] = {c.code: c for c in categories}
        self.hotlines: dict[str, Hotline] = {h.prefix: h for h in hotlines}
        self.default_hotline = default_hotline
        self.office_entries: list[OfficeEntry] = list(offices)
        handlers: dict[str, list[str]] = {}
        for member in self.staff.values():
            if member.role is StaffRole.handler and member.office is not None:
                handlers.setdefault(member.office, []).append(member.id)
        self.offices: dict[str, Office] = {}
        self._office_at: dict[OfficeKey, Office] = {}
        for entry in self.office_entries:
            office = Office(
                id=entry.id,
                department=entry.department,
                region=entry.region,
                name=entry.name,
                mailbox=entry.mailbox,
                head_mailbox=entry.head_mailbox,
                handlers=handlers.get(entry.id, []),
                office_hours=list(entry.office_hours or self._department_hours(entry.department)),
            )
            self.offices.setdefault(entry.id, office)
            self._office_at.setdefault(office.key, office)

    def _department_hours(self, code: str) -> list[str]:
        department = self.departments.get(code)
        return list(department.office_hours or []) if department else []

    # -- regions ---------------------------------------------------------------------

    def known_region(self, code: str) -> str | None:
        """The listed region standing for ``code``: itself, or the district of an unlisted street.

        The directory lists only some streets; a nine-digit street code that is not
        listed is served through its district (its first six digits).
        """
        if code in self.regions:
            return code
        if len(code) == 9 and code[:6] in self.regions:
            return code[:6]
        return None

    def region_chain(self, code: str) -> list[Region]:
        """The region and its ancestors, most local first (street → district → city).

        Empty when the code is outside this deployment.
        """
        chain: list[Region] = []
        seen: set[str] = set()
        current = self.known_region(code)
        # The seen set stops a cycle of parents: references.py reports it, routing must
        # not hang on it.
        while current is not None and current in self.regions and current not in seen:
            seen.add(current)
            region = self.regions[current]
            chain.append(region)
            current = region.parent
        return chain

    def is_internal(self, code: str) -> bool:
        return bool(self.region_chain(code))

    def region_name(self, code: str) -> str:
        """A region's Chinese name; for external codes the name platforms.yaml gives, if any."""
        if code in self.regions:
            return self.regions[code].name
        for platform in self.platforms.values():
            if platform.domicile == code and platform.domicile_name:
                return platform.domicile_name
        known = self.known_region(code)
        if known is not None:
            return f"{self.regions[known].name}辖内街道"
        return "本部署以外地区"

    def region_label(self, code: str) -> str:
        return f"{code} {self.region_name(code)}"

    # -- departments, offices, staff -------------------------------------------------

    def department_name(self, code: str) -> str:
        department = self.departments.get(code)
        return department.name if department else code

    def office_for(self, department: str, region: str) -> Office | None:
        """The most local office of ``department`` along ``region``'s chain, if any."""
        for candidate in self.offices_in_chain(department, region):
            return candidate
        return None

    def offices_in_chain(self, department: str, region: str) -> list[Office]:
        """Every office of ``department`` along ``region``'s chain, most local first."""
        return [
            office
            for r in self.region_chain(region)
            if (office := self._office_at.get(OfficeKey(department=department, region=r.code)))
        ]

    def hotline_for(self, region: str) -> tuple[Hotline | DefaultHotline, str] | None:
        """The hotline for an external ``region``: the longest matching prefix, else the
        default; with how it was chosen ("prefix 11" or "default"). None when neither."""
        for length in range(len(region), 1, -1):
            hotline = self.hotlines.get(region[:length])
            if hotline is not None:
                return hotline, f"prefix {hotline.prefix}"
        if self.default_hotline is not None:
            return self.default_hotline, "default"
        return None

    def hotline_office(self, region: str) -> Office | None:
        """The synthesized office of the hotline serving the external ``region``, if any."""
        found = self.hotline_for(region)
        if found is None:
            return None
        hotline, _ = found
        return Office(
            id=f"hotline.{region}",
            department=EXTERNAL_HOTLINE,
            region=region,
            name=hotline.name,
            mailbox=hotline.mailbox,
            head_mailbox=None,
            handlers=[],
        )

    def liaison_office(self, platform_code: str) -> Office | None:
        """The synthesized liaison office (政企协同) of a known platform, with its liaisons."""
        platform = self.platforms.get(platform_code)
        if platform is None:
            return None
        return Office(
            id=f"platform.{platform.code}",
            department=PLATFORM,
            region=platform.domicile,
            name=f"{platform.name}（平台联络）",
            mailbox=platform.liaison_mailbox,
            head_mailbox=None,
            handlers=self.liaisons_of(platform.code),
        )

    def liaisons_of(self, platform_code: str) -> list[str]:
        """Ids of the liaison staff who answer for the platform."""
        return [
            s.id
            for s in self.staff.values()
            if s.role is StaffRole.liaison and s.platform == platform_code
        ]

    def root_office(self, department: str) -> Office | None:
        key = OfficeKey(department=department, region=self.deployment.root_region)
        return self._office_at.get(key)

    def staff_member(self, staff_id: str) -> StaffMember | None:
        return self.staff.get(staff_id)

    def handlers_of(self, office_id: str) -> list[str]:
        office = self.offices.get(office_id)
        return list(office.handlers) if office else []

    def roster(self) -> Roster:
        return Roster(
            clerks=[s.id for s in self.staff.values() if s.role is StaffRole.clerk],
            supervisors=[s.id for s in self.staff.values() if s.role is StaffRole.supervisor],
            departments=list(self.departments),
            regions=list(self.regions),
            placements={
                f"{d}@{r}": self.place(d, r).office.id
                for d in self.departments
                for r in self.regions
            },
        )

    @staticmethod
    def _depth(chain: list[Region], office: Office) -> int:
        return next((i for i, r in enumerate(chain) if r.code == office.region), len(chain))

    def office_level(self, office: Office) -> str:
        region = self.regions.get(office.region)
        return region.level.label if region else office.region

    def office_where(self, office: Office) -> str:
        """Where an office sits, for explanations: "区级 district level", "external hotline"."""
        if office.department == EXTERNAL_HOTLINE:
            return "external hotline"
        if office.department == PLATFORM:
            return "platform liaison"
        return f"{self.office_level(office)} level"

    # -- choosing an office ------------------------------------------------------------

    def place(
        self, department: str, region: str, *, exclude: Collection[OfficeKey] = ()
    ) -> Placement:
        """Choose the office of ``department`` for ``region``.

        The most local office of the department along the region's chain that has not
        returned the case; else the fallback department (社会工作部) at the nearest such
        level; else the fallback department's city office with a reason telling a
        supervisor to designate the owner.

        A region outside the deployment is an external hand-off to that region's hotline
        (external_hotlines.yaml: longest code prefix, else the default entry), whatever
        the department; without a hotline, or when that hotline returned the case, it
        goes to the fallback department's city office. Either way it is marked external.
        """
        excluded = set(exclude)
        fallback = self.deployment.fallback_department
        fallback_name = self.department_name(fallback)
        root = self.root_office(fallback)
        if root is None:
            raise LookupError(f"the fallback department {fallback!r} has no office at the root")
        chain = self.region_chain(region)
        if not chain:
            return self._place_external(region, excluded, root)

        notes: list[str] = []
        known = chain[0].code
        if known != region:
            notes.append(
                f"street {region} is not listed in regions.yaml; served through its district "
                f"{self.region_label(known)}"
            )
        chain_text = " → ".join(r.name for r in chain)
        own = self.offices_in_chain(department, region)
        dept_name = self.department_name(department)
        if own:
            for index, office in enumerate(own):
                if office.key in excluded:
                    continue
                skipped = chain[: self._depth(chain, office)]
                # Few departments sit in streets; say so only when a district was skipped.
                if index == 0 and any(r.level is not RegionLevel.street for r in skipped):
                    notes.append(
                        f"{dept_name} has no office at {' or '.join(r.name for r in skipped)}; "
                        f"its most local one is at {self.office_level(office)} level"
                    )
                moved = None
                if index:
                    returned = "、".join(o.name for o in own[:index])
                    moved = f"{returned} returned the case; moved up to {office.name}"
                return Placement(office=office, fallback_reason=moved, notes=notes)
            why = f"every {dept_name} office along {chain_text} has returned the case"
        else:
            why = f"{dept_name} ({department}) has no office along {chain_text}"

        if department != fallback:
            for office in self.offices_in_chain(fallback, region):
                if office.key not in excluded:
                    reason = (
                        f"{why}; routed to {fallback_name} at {self.office_level(office)} "
                        f"level ({office.name})"
                    )
                    return Placement(office=office, fallback_reason=reason, notes=notes)
            why += f"; every {fallback_name} office along {chain_text} has returned it too"
        reason = f"{why}; routed to {root.name} anyway — a supervisor must designate the owner"
        return Placement(office=root, fallback_reason=reason, needs_designation=True, notes=notes)

    def _place_external(self, region: str, excluded: set[OfficeKey], root: Office) -> Placement:
        outside = f"region {self.region_label(region)} is outside this deployment"
        fallback_name = self.department_name(self.deployment.fallback_department)
        found = self.hotline_for(region)
        hotline = self.hotline_office(region)
        if found is not None and hotline is not None:
            how = found[1]
            if hotline.key not in excluded:
                note = (
                    f"external hand-off to {hotline.name} ({hotline.mailbox}; "
                    f"external_hotlines.yaml {how}): {outside}"
                )
                return Placement(office=hotline, external=True, notes=[note])
            why = f"{outside}; its hotline {hotline.name} has returned the case"
        else:
            why = f"{outside} and external_hotlines.yaml has no hotline for it"
        reason = f"{why} — routed to {fallback_name} at city level ({root.name})"
        designate = root.key in excluded
        if designate:
            reason += f"; {root.name} has returned the case: a supervisor must designate"
        return Placement(
            office=root, external=True, fallback_reason=reason, needs_designation=designate
        )

    def resolve(
        self,
        department: str,
        region: str,
        *,
        role: TaskRole = TaskRole.lead,
        basis: JurisdictionBasis = JurisdictionBasis.workplace,
        exclude: Collection[OfficeKey] = (),
    ) -> Assignment:
        """The assignment for a transfer (转办) to ``department`` in ``region``.

        Args:
            department: the target department's code.
            region: the region the target office should serve.
            role: the role of the task being transferred.
            basis: the jurisdiction basis the region stands for (recorded, not used).
            exclude: offices that must not be chosen (those that returned the case).

        Raises:
            ValueError: the department is not in the directory.
        """
        if department not in self.departments:
            known = ", ".join(self.departments)
            raise ValueError(f"unknown department {department!r}; known departments: {known}")
        placement = self.place(department, region, exclude=exclude)
        return Assignment(
            role=role,
            office=placement.office,
            basis=basis,
            basis_region=region,
            external=placement.external,
            fallback_reason=placement.fallback_reason,
            needs_designation=placement.needs_designation,
        )
