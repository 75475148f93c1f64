"""Cross-file checks: every code an entry names must exist where it should.

A rules directory with any of these problems cannot route, so ``load_ruleset`` raises
on them; ``check_ruleset`` reports them too, for rule sets built in code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from models.routing import OfficeKey
from routing_rules.directory import EXTERNAL_HOTLINE, PLATFORM
from routing_rules.schema import Rule

if TYPE_CHECKING:
    from routing_rules.ruleset import RuleSet


class _Known:
    """The codes each file defines, counting entries that exist but failed validation.

    A reference to a broken entry is not reported again: one bad clock in the standard
    plan should give one problem, not one per rule that uses the plan.
    """

    def __init__(self, ruleset: RuleSet, invalid: Mapping[str, Collection[str]]) -> None:
        def known(file: str, codes: Collection[str]) -> set[str]:
            return set(codes) | set(invalid.get(file, ()))

        self.regions = known("regions.yaml", ruleset.regions)
        self.departments = known("departments.yaml", ruleset.departments)
        self.offices = known("offices.yaml", ruleset.offices)
        self.platforms = known("platforms.yaml", ruleset.platforms)
        self.categories = known("categories.yaml", ruleset.categories)
        self.plans = known("sla_plans.yaml", ruleset.plans)


def reference_problems(
    ruleset: RuleSet, *, invalid: Mapping[str, Collection[str]] | None = None
) -> list[str]:
    """Unknown or misplaced codes, one line per problem naming file and entry.

    Args:
        ruleset: the rule set to check.
        invalid: codes of entries present but invalid, by file name
            (``{"sla_plans.yaml": {"standard"}}``); references to them are not reported.
    """
    known = _Known(ruleset, invalid or {})
    return [
        *_deployment_problems(ruleset, known),
        *_region_problems(ruleset, known),
        *_department_problems(ruleset),
        *_office_problems(ruleset, known),
        *_staff_problems(ruleset, known),
        *_category_problems(ruleset, known),
        *_hotline_problems(ruleset),
        *(p for rule in ruleset.rules for p in _rule_problems(ruleset, known, rule)),
    ]


def _deployment_problems(ruleset: RuleSet, known: _Known) -> list[str]:
    deployment = ruleset.deployment
    problems: list[str] = []
    root = ruleset.regions.get(deployment.root_region)
    if deployment.root_region not in known.regions:
        problems.append(
            f"deployment.yaml: root_region {deployment.root_region!r} is not in regions.yaml"
        )
    elif root is not None and root.parent is not None:
        problems.append(
            f"deployment.yaml: root region {root.code} {root.name} must have no parent in "
            f"regions.yaml (it has {root.parent!r})"
        )
    fallback = deployment.fallback_department
    if fallback not in known.departments:
        problems.append(f"deployment.yaml: unknown fallback_department {fallback!r}")
    elif root is not None and ruleset.root_office(fallback) is None:
        problems.append(
            f"offices.yaml: the fallback department {fallback!r} needs an office at the root "
            f"region {root.code} {root.name}, for cases no other office can take"
        )
    street = deployment.street_department
    # The default ("subdistrict") may name no department of a deployment without street
    # offices; only a value written in deployment.yaml must be known.
    if (
        street is not None
        and "street_department" in deployment.model_fields_set
        and street not in known.departments
    ):
        problems.append(f"deployment.yaml: unknown street_department {street!r}")
    return problems


def _department_problems(ruleset: RuleSet) -> list[str]:
    reserved = {
        EXTERNAL_HOTLINE: "external hotlines (external_hotlines.yaml)",
        PLATFORM: "platform liaison offices (platforms.yaml)",
    }
    return [
        f"departments.yaml: department {code!r}: the code is reserved for {what}; "
        "choose another code"
        for code, what in reserved.items()
        if code in ruleset.departments
    ]


def _category_problems(ruleset: RuleSet, known: _Known) -> list[str]:
    return [
        f"categories.yaml: category {category.code!r}: unknown owner department {category.owner!r}"
        for category in ruleset.categories.values()
        if category.owner is not None and category.owner not in known.departments
    ]


def _hotline_problems(ruleset: RuleSet) -> list[str]:
    # A hotline is consulted only for regions outside the deployment: a prefix that is a
    # region of the deployment (or a street within one) could never be used.
    return [
        f"external_hotlines.yaml: hotline {hotline.prefix!r} ({hotline.name}): the prefix is "
        f"region {ruleset.region_label(hotline.prefix)} of this deployment; hotlines serve "
        "regions outside it"
        for hotline in ruleset.hotlines.values()
        if ruleset.is_internal(hotline.prefix)
    ]


def _region_problems(ruleset: RuleSet, known: _Known) -> list[str]:
    problems: list[str] = []
    root = ruleset.deployment.root_region
    for region in ruleset.regions.values():
        where = f"regions.yaml: region {region.code!r} ({region.name})"
        if region.parent is None:
            if region.code != root:
                problems.append(f"{where}: no parent, but only the root region {root} has none")
            continue
        parent = ruleset.regions.get(region.parent)
        if parent is None:
            if region.parent not in known.regions:
                problems.append(f"{where}: unknown parent {region.parent!r}")
            continue
        if parent.level.rank >= region.level.rank:
            problems.append(
                f"{where}: a {region.level} cannot be under {parent.code} {parent.name}, "
                f"a {parent.level}"
            )
        if len(region.code) == 9 and not region.code.startswith(parent.code):
            problems.append(f"{where}: a street's code must extend its parent's code {parent.code}")
        # A chain that stops short of the root for a missing or absent parent is reported
        # at the region where it stops; only a cycle is left to find here.
        chain = ruleset.region_chain(region.code)
        if chain[-1].parent in ruleset.regions:
            problems.append(
                f"{where}: its parents form a cycle ({' → '.join(r.code for r in chain)}) "
                f"instead of reaching the root region {root}"
            )
    return problems


def _office_problems(ruleset: RuleSet, known: _Known) -> list[str]:
    problems: list[str] = []
    serving: dict[OfficeKey, str] = {}
    for entry in ruleset.office_entries:
        where = f"offices.yaml: office {entry.id!r}"
        if entry.department not in known.departments:
            problems.append(f"{where}: unknown department {entry.department!r}")
        if entry.region not in known.regions:
            problems.append(
                f"{where}: region {entry.region!r} is not in regions.yaml "
                "(offices serve this deployment's regions)"
            )
        key = OfficeKey(department=entry.department, region=entry.region)
        if key in serving:
            problems.append(
                f"{where}: office {serving[key]!r} already serves {entry.department} "
                f"in {entry.region}; keep one office per department and region"
            )
        serving.setdefault(key, entry.id)
    return problems


def _staff_problems(ruleset: RuleSet, known: _Known) -> list[str]:
    problems: list[str] = []
    for member in ruleset.staff.values():
        where = f"staff.yaml: staff {member.id!r}"
        if member.department not in known.departments:
            problems.append(f"{where}: unknown department {member.department!r}")
        if member.region not in known.regions:
            problems.append(f"{where}: region {member.region!r} is not in regions.yaml")
        if member.platform is not None and member.platform not in known.platforms:
            problems.append(f"{where}: unknown platform {member.platform!r}")
        if member.office is None:
            continue
        office = ruleset.offices.get(member.office)
        if office is None:
            if member.office not in known.offices:
                problems.append(f"{where}: unknown office {member.office!r}")
        elif (office.department, office.region) != (member.department, member.region):
            problems.append(
                f"{where}: office {office.id!r} is {office.department} in {office.region}, "
                f"but the staff member is {member.department} in {member.region}"
            )
    return problems


def _rule_problems(ruleset: RuleSet, known: _Known, rule: Rule) -> list[str]:
    where = f"rules.yaml: rule {rule.id!r}"
    problems: list[str] = []
    if not rule.match.any_category:
        problems += [
            f"{where}: unknown category {code!r}"
            for code in rule.match.categories
            if code not in known.categories
        ]
    problems += [
        f"{where}: unknown platform {code!r}"
        for code in rule.match.platforms or []
        if code not in known.platforms
    ]
    departments = [rule.lead.department, *(co.department for co in rule.co)]
    problems += [
        f"{where}: unknown department {code!r}"
        for code in departments
        if code not in known.departments
    ]
    for index, code in enumerate(departments[1:], start=1):
        if code in departments[:index]:
            what = "the lead" if code == rule.lead.department else "already a co-handler"
            problems.append(f"{where}: co-handler {code!r} is {what}")
    if rule.sla_plan not in known.plans:
        names = ", ".join(sorted(known.plans)) or "none"
        problems.append(f"{where}: unknown SLA plan {rule.sla_plan!r} (known: {names})")
    return problems
