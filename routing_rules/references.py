"""Cross-file checks: every code an entry names must exist where it should.

A rules directory with any of these problems cannot route, so ``load_ruleset`` raises
on them; ``check_ruleset`` reports them too, for rule sets built in code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.routing import OfficeKey
from routing_rules.schema import Rule

if TYPE_CHECKING:
    from routing_rules.ruleset import RuleSet


def reference_problems(ruleset: RuleSet) -> list[str]:
    """Unknown or misplaced codes, one line per problem naming file and entry."""
    return [
        *_deployment_problems(ruleset),
        *_region_problems(ruleset),
        *_office_problems(ruleset),
        *_staff_problems(ruleset),
        *(p for rule in ruleset.rules for p in _rule_problems(ruleset, rule)),
    ]


def _deployment_problems(ruleset: RuleSet) -> list[str]:
    deployment = ruleset.deployment
    problems: list[str] = []
    root = ruleset.regions.get(deployment.root_region)
    if root is None:
        problems.append(
            f"deployment.yaml: root_region {deployment.root_region!r} is not in regions.yaml"
        )
    elif root.parent is not None:
        problems.append(
            f"deployment.yaml: root region {root.code} {root.name} must have no parent in "
            f"regions.yaml (it has {root.parent!r})"
        )
    fallback = deployment.fallback_department
    if fallback not in ruleset.departments:
        problems.append(f"deployment.yaml: unknown fallback_department {fallback!r}")
    elif root is not None and ruleset.root_office(fallback) is None:
        problems.append(
            f"offices.yaml: the fallback department {fallback!r} needs an office at the root "
            f"region {root.code} {root.name}, for cases no other office can take"
        )
    return problems


def _region_problems(ruleset: RuleSet) -> list[str]:
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
            problems.append(f"{where}: unknown parent {region.parent!r}")
            continue
        if parent.level.rank >= region.level.rank:
            problems.append(
                f"{where}: a {region.level} cannot be under {parent.code} {parent.name}, "
                f"a {parent.level}"
            )
        if len(region.code) == 9 and not region.code.startswith(parent.code):
            problems.append(f"{where}: a street's code must extend its parent's code {parent.code}")
        chain = ruleset.region_chain(region.code)
        if chain[-1].code != root:
            problems.append(
                f"{where}: its parents never reach the root region {root} "
                f"({' → '.join(r.code for r in chain)})"
            )
    return problems


def _office_problems(ruleset: RuleSet) -> list[str]:
    problems: list[str] = []
    serving: dict[OfficeKey, str] = {}
    for entry in ruleset.office_entries:
        where = f"offices.yaml: office {entry.id!r}"
        if entry.department not in ruleset.departments:
            problems.append(f"{where}: unknown department {entry.department!r}")
        if entry.region not in ruleset.regions:
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


def _staff_problems(ruleset: RuleSet) -> list[str]:
    problems: list[str] = []
    for member in ruleset.staff.values():
        where = f"staff.yaml: staff {member.id!r}"
        if member.department not in ruleset.departments:
            problems.append(f"{where}: unknown department {member.department!r}")
        if member.region not in ruleset.regions:
            problems.append(f"{where}: region {member.region!r} is not in regions.yaml")
        if member.office is None:
            continue
        office = ruleset.offices.get(member.office)
        if office is None:
            problems.append(f"{where}: unknown office {member.office!r}")
        elif (office.department, office.region) != (member.department, member.region):
            problems.append(
                f"{where}: office {office.id!r} is {office.department} in {office.region}, "
                f"but the staff member is {member.department} in {member.region}"
            )
    return problems


def _rule_problems(ruleset: RuleSet, rule: Rule) -> list[str]:
    where = f"rules.yaml: rule {rule.id!r}"
    problems: list[str] = []
    if not rule.match.any_category:
        problems += [
            f"{where}: unknown category {code!r}"
            for code in rule.match.categories
            if code not in ruleset.categories
        ]
    problems += [
        f"{where}: unknown platform {code!r}"
        for code in rule.match.platforms or []
        if code not in ruleset.platforms
    ]
    departments = [rule.lead.department, *(co.department for co in rule.co)]
    problems += [
        f"{where}: unknown department {code!r}"
        for code in departments
        if code not in ruleset.departments
    ]
    for index, code in enumerate(departments[1:], start=1):
        if code in departments[:index]:
            what = "the lead" if code == rule.lead.department else "already a co-handler"
            problems.append(f"{where}: co-handler {code!r} is {what}")
    if rule.sla_plan not in ruleset.plans:
        known = ", ".join(ruleset.plans) or "none"
        problems.append(f"{where}: unknown SLA plan {rule.sla_plan!r} (known: {known})")
    return problems
