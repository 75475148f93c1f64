"""Routing a case: pick the rule, the jurisdiction region and the office for each department.

Pure functions over a loaded ``RuleSet``: no I/O, safe to call from an activity or a CLI.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from models.common import OCCUPATION_LABELS, JurisdictionBasis
from models.routing import Assignment, OfficeKey, RoutingDecision, RoutingFacts, TaskRole
from routing_rules.schema import Rule

if TYPE_CHECKING:
    from routing_rules.ruleset import RuleSet

NO_RULE = "(none)"

BASIS_LABELS: dict[JurisdictionBasis, str] = {
    JurisdictionBasis.incident: "事发地 incident place",
    JurisdictionBasis.workplace: "工作地 workplace",
    JurisdictionBasis.residence: "居住地 residence",
    JurisdictionBasis.platform_domicile: "平台注册地 platform domicile",
}
ROLE_LABELS: dict[TaskRole, str] = {
    TaskRole.lead: "主办 lead",
    TaskRole.co: "协办 co",
    TaskRole.liaison: "平台联络 liaison",
}


def match_reasons(rule: Rule, facts: RoutingFacts) -> list[str] | None:
    """Why ``rule`` matches ``facts`` (one phrase per condition), or None if it does not."""
    match = rule.match
    reasons: list[str] = []
    if match.any_category:
        reasons.append("any category")
    elif facts.category in match.categories:
        reasons.append(f"category {facts.category}")
    else:
        return None
    if match.occupations is not None:
        if facts.occupation not in match.occupations:
            return None
        reasons.append(f"occupation {facts.occupation} {OCCUPATION_LABELS[facts.occupation]}")
    if match.platforms is not None:
        if facts.platform is None or facts.platform not in match.platforms:
            return None
        reasons.append(f"platform {facts.platform}")
    if match.keywords is not None:
        summary = facts.summary.casefold()
        keyword = next((k for k in match.keywords if k.casefold() in summary), None)
        if keyword is None:
            return None
        reasons.append(f"keyword '{keyword}' in the summary")
    return reasons


def first_match(rules: Iterable[Rule], facts: RoutingFacts) -> tuple[Rule, list[str]] | None:
    """The first rule, in the order given, that matches; with the reasons."""
    for rule in rules:
        reasons = match_reasons(rule, facts)
        if reasons is not None:
            return rule, reasons
    return None


def jurisdiction(
    ruleset: RuleSet, basis: JurisdictionBasis, facts: RoutingFacts
) -> tuple[JurisdictionBasis, str, list[str]]:
    """The basis actually used, its region, and notes on any fallback between bases."""
    workplace = ruleset.region_label(facts.workplace)
    if basis is JurisdictionBasis.incident:
        if facts.incident:
            return basis, facts.incident, []
        note = f"no incident place given; using the workplace {workplace} instead"
        return JurisdictionBasis.workplace, facts.workplace, [note]
    if basis is JurisdictionBasis.workplace:
        return basis, facts.workplace, []
    if basis is JurisdictionBasis.residence:
        return basis, facts.residence, []
    if facts.platform is None:
        note = f"the case names no platform; using the workplace {workplace} instead"
        return JurisdictionBasis.workplace, facts.workplace, [note]
    platform = ruleset.platforms.get(facts.platform)
    if platform is None:
        note = (
            f"platform {facts.platform!r} is not in platforms.yaml; "
            f"using the workplace {workplace} instead"
        )
        return JurisdictionBasis.workplace, facts.workplace, [note]
    note = f"platform {platform.name} ({platform.code}) is registered in "
    note += ruleset.region_label(platform.domicile)
    return basis, platform.domicile, [note]


def assign(
    ruleset: RuleSet,
    role: TaskRole,
    department: str,
    basis: JurisdictionBasis,
    facts: RoutingFacts,
    *,
    exclude: Collection[OfficeKey] = (),
    explanation: list[str] | None = None,
    region: str | None = None,
) -> Assignment:
    """One department's assignment for the facts; appends its story to ``explanation``.

    ``region``, when given, replaces the region ``basis`` would give (a suggested owner's
    region); the basis is still recorded.
    """
    lines = explanation if explanation is not None else []
    if region is None:
        used_basis, region, notes = jurisdiction(ruleset, basis, facts)
        where = f"basis {BASIS_LABELS[basis]} → {ruleset.region_label(region)}"
    else:
        used_basis, notes = basis, []
        where = f"suggested region → {ruleset.region_label(region)}"
    placement = ruleset.place(department, region, exclude=exclude)
    office = placement.office
    lines.append(f"{ROLE_LABELS[role]} {department} {ruleset.department_name(department)}: {where}")
    lines.extend(f"  {note}" for note in notes + placement.notes)
    if placement.fallback_reason:
        lines.append(f"  fallback: {placement.fallback_reason}")
    lines.append(f"  → {office.name} ({office.id}, {ruleset.office_where(office)})")
    return Assignment(
        role=role,
        office=office,
        basis=used_basis,
        basis_region=region,
        external=placement.external,
        fallback_reason=placement.fallback_reason,
        needs_designation=placement.needs_designation,
    )


def route(
    ruleset: RuleSet,
    facts: RoutingFacts,
    *,
    exclude: Collection[OfficeKey] = (),
    sla_plan_override: str | None = None,
    prefer_department: str | None = None,
    prefer_region: str | None = None,
) -> RoutingDecision:
    """Route a case: the first matching rule's departments, each at its office.

    Args:
        ruleset: the loaded rules.
        facts: the case's routing facts.
        exclude: offices that returned the case and must not get it again.
        sla_plan_override: an SLA plan that replaces the rule's plan.
        prefer_department: the owner a returning office suggests (``return --owner``):
            it leads instead of the rule's lead department when it has an office, not
            excluded, along ``prefer_region``'s chain (and is not a street office given a
            department's matter); else the rules decide and the explanation says why.
            The rule's co-handlers, plan and liaison stay.
        prefer_region: where to place the suggested owner; default: the region the
            rule's lead basis gives.

    Raises:
        ValueError: the category or the override plan is unknown.
    """
    if facts.category not in ruleset.categories:
        where = ruleset.source / "categories.yaml" if ruleset.source else "categories.yaml"
        raise ValueError(
            f"unknown category {facts.category!r}: the deployment "
            f"{ruleset.deployment.name!r} has {len(ruleset.categories)} categories, "
            f"listed with their codes in {where}"
        )
    if sla_plan_override is not None and sla_plan_override not in ruleset.plans:
        known = ", ".join(ruleset.plans)
        raise ValueError(f"unknown SLA plan {sla_plan_override!r}; known plans: {known}")

    category = ruleset.categories[facts.category]
    explanation = [f"category {category.code} {category.label}"]
    found = first_match(ruleset.rules, facts)
    rule: Rule | None = None
    if found is None:
        # Only a rules directory without a catch-all gets here (`appeals rules check`
        # reports that); the case still must not be lost, so it goes where the fallback
        # rule would.
        lead_department = ruleset.deployment.fallback_department
        lead_basis = JurisdictionBasis.residence
        explanation.append(
            "no rule matched and the rules have no catch-all; "
            f"routed to {ruleset.department_name(lead_department)} where the worker lives"
        )
        plan_name = sla_plan_override or ("standard" if "standard" in ruleset.plans else "")
        plan_name = plan_name or next(iter(ruleset.plans))
        explanation.append(f"SLA plan {plan_name} {ruleset.plans[plan_name].label}")
    else:
        rule, reasons = found
        lead_department, lead_basis = rule.lead.department, rule.lead.basis
        label = f"{rule.label}, " if rule.label else ""
        explanation.append(
            f"rule '{rule.id}' ({label}priority {rule.priority}) matched: {'; '.join(reasons)}"
        )
        plan_name = sla_plan_override or rule.sla_plan
        plan = ruleset.plans[plan_name]
        if sla_plan_override is not None:
            rule_plan = ruleset.plans.get(rule.sla_plan)
            rule_plan_text = f"{rule.sla_plan} {rule_plan.label}" if rule_plan else rule.sla_plan
            explanation.append(
                f"SLA plan {plan.name} {plan.label}: override of the rule's plan {rule_plan_text}"
            )
        else:
            explanation.append(f"SLA plan {plan.name} {plan.label} (from the rule)")

    lead: Assignment | None = None
    if prefer_department is not None:
        lead = _suggested_lead(
            ruleset,
            facts,
            prefer_department,
            prefer_region,
            lead_department=lead_department,
            lead_basis=lead_basis,
            exclude=exclude,
            explanation=explanation,
        )
    if lead is None:
        lead = assign(
            ruleset,
            TaskRole.lead,
            lead_department,
            lead_basis,
            facts,
            exclude=exclude,
            explanation=explanation,
        )
    co: list[Assignment] = []
    taken = {lead.office.key}
    handlers = [(h.department, rule.co_basis(h)) for h in rule.co] if rule is not None else []
    for department, basis in handlers:
        assignment = assign(
            ruleset,
            TaskRole.co,
            department,
            basis,
            facts,
            exclude=exclude,
            explanation=explanation,
        )
        if assignment.office.key in taken:
            explanation.append(f"  {assignment.office.name} already has this case; not added twice")
            continue
        taken.add(assignment.office.key)
        co.append(assignment)
    liaison = None
    if rule is not None and rule.platform_liaison:
        liaison = platform_liaison(ruleset, facts, explanation)
    return RoutingDecision(
        rule_id=rule.id if rule is not None else NO_RULE,
        rules_version=ruleset.version,
        sla_plan=plan_name,
        lead=lead,
        co=co,
        liaison=liaison,
        explanation=explanation,
    )


def _suggested_lead(
    ruleset: RuleSet,
    facts: RoutingFacts,
    department: str,
    region: str | None,
    *,
    lead_department: str,
    lead_basis: JurisdictionBasis,
    exclude: Collection[OfficeKey],
    explanation: list[str],
) -> Assignment | None:
    """The suggested owner's lead assignment, or None (with the reason) when it cannot lead.

    It leads only from an office of its own along the region's chain that has not
    returned the case: a suggestion that would fall back to another department is not
    followed, the rules decide instead.
    """
    if department not in ruleset.departments:
        explanation.append(
            f"suggested owner {department!r} not followed: it is not a department in "
            "departments.yaml; routed by the rules"
        )
        return None
    name = f"{department} {ruleset.department_name(department)}"

    def refuse(why: str) -> None:
        explanation.append(f"suggested owner {name} not followed: {why}; routed by the rules")

    category = ruleset.categories[facts.category]
    street = ruleset.deployment.street_department
    if department == street and category.owner not in (None, street):
        refuse(
            f"the catalogue assigns {category.code} to {category.owner}; the 2025 rules "
            "forbid pushing a department's work down to streets"
        )
        return None
    where = region
    if where is None:
        _, where, _ = jurisdiction(ruleset, lead_basis, facts)
    chain = ruleset.region_chain(where)
    if not chain:
        refuse(f"region {ruleset.region_label(where)} is outside this deployment")
        return None
    excluded = set(exclude)
    own = ruleset.offices_in_chain(department, where)
    if all(office.key in excluded for office in own):
        chain_text = " → ".join(r.name for r in chain)
        dept_name = ruleset.department_name(department)
        if own:
            refuse(f"every {dept_name} office along {chain_text} has returned the case")
        else:
            refuse(f"{dept_name} ({department}) has no office along {chain_text}")
        return None
    if department == lead_department:
        explanation.append(f"suggested owner {name} taken (the rule's lead department too)")
    else:
        rule_lead = f"{lead_department} {ruleset.department_name(lead_department)}"
        explanation.append(f"suggested owner {name} taken instead of the rule's lead {rule_lead}")
    return assign(
        ruleset,
        TaskRole.lead,
        department,
        lead_basis,
        facts,
        exclude=exclude,
        explanation=explanation,
        region=region,
    )


def platform_liaison(
    ruleset: RuleSet, facts: RoutingFacts, explanation: list[str] | None = None
) -> Assignment | None:
    """The liaison task (政企协同) of the platform the case names, if it is a known one."""
    lines = explanation if explanation is not None else []
    label = ROLE_LABELS[TaskRole.liaison]
    if facts.platform is None:
        lines.append(f"{label}: the case names no platform; no liaison task")
        return None
    office = ruleset.liaison_office(facts.platform)
    if office is None:
        lines.append(
            f"{label}: platform {facts.platform!r} is not in platforms.yaml; no liaison task"
        )
        return None
    platform = ruleset.platforms[facts.platform]
    lines.append(
        f"{label} {platform.code} {platform.name}: registered in "
        f"{ruleset.region_label(platform.domicile)}"
    )
    liaisons = ", ".join(office.handlers) if office.handlers else "none in staff.yaml"
    lines.append(f"  → {office.name} ({office.id}, {office.mailbox}; liaisons: {liaisons})")
    return Assignment(
        role=TaskRole.liaison,
        office=office,
        basis=JurisdictionBasis.platform_domicile,
        basis_region=platform.domicile,
        external=False,
    )
