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
ROLE_LABELS: dict[TaskRole, str] = {TaskRole.lead: "主办 lead", TaskRole.co: "协办 co"}


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
) -> Assignment:
    """One department's assignment for the facts; appends its story to ``explanation``."""
    lines = explanation if explanation is not None else []
    used_basis, region, notes = jurisdiction(ruleset, basis, facts)
    placement = ruleset.place(department, region, exclude=exclude)
    office = placement.office
    lines.append(
        f"{ROLE_LABELS[role]} {department} {ruleset.department_name(department)}: "
        f"basis {BASIS_LABELS[basis]} → {ruleset.region_label(region)}"
    )
    lines.extend(f"  {note}" for note in notes + placement.notes)
    if placement.fallback_reason:
        lines.append(f"  fallback: {placement.fallback_reason}")
    lines.append(f"  → {office.name} ({office.id}, {ruleset.office_level(office)} level)")
    return Assignment(
        role=role,
        office=office,
        basis=used_basis,
        basis_region=region,
        external=placement.external,
        fallback_reason=placement.fallback_reason,
    )


def route(
    ruleset: RuleSet,
    facts: RoutingFacts,
    *,
    exclude: Collection[OfficeKey] = (),
    sla_plan_override: str | None = None,
) -> RoutingDecision:
    """Route a case: the first matching rule's departments, each at its office.

    Args:
        ruleset: the loaded rules.
        facts: the case's routing facts.
        exclude: offices that returned the case and must not get it again.
        sla_plan_override: an SLA plan that replaces the rule's plan.

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
    if found is None:
        return _no_rule(ruleset, facts, exclude, sla_plan_override, explanation)
    rule, reasons = found
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

    lead = assign(
        ruleset,
        TaskRole.lead,
        rule.lead.department,
        rule.lead.basis,
        facts,
        exclude=exclude,
        explanation=explanation,
    )
    co: list[Assignment] = []
    taken = {lead.office.key}
    for handler in rule.co:
        assignment = assign(
            ruleset,
            TaskRole.co,
            handler.department,
            rule.co_basis(handler),
            facts,
            exclude=exclude,
            explanation=explanation,
        )
        if assignment.office.key in taken:
            explanation.append(f"  {assignment.office.name} already has this case; not added twice")
            continue
        taken.add(assignment.office.key)
        co.append(assignment)
    return RoutingDecision(
        rule_id=rule.id,
        rules_version=ruleset.version,
        sla_plan=plan.name,
        lead=lead,
        co=co,
        explanation=explanation,
    )


def _no_rule(
    ruleset: RuleSet,
    facts: RoutingFacts,
    exclude: Collection[OfficeKey],
    sla_plan_override: str | None,
    explanation: list[str],
) -> RoutingDecision:
    # Only a rules directory without a catch-all gets here (`appeals rules check` reports
    # that); the case still must not be lost, so it goes where the fallback rule would.
    fallback = ruleset.deployment.fallback_department
    explanation.append(
        "no rule matched and the rules have no catch-all; "
        f"routed to {ruleset.department_name(fallback)} where the worker lives"
    )
    plan_name = sla_plan_override or ("standard" if "standard" in ruleset.plans else "")
    plan_name = plan_name or next(iter(ruleset.plans))
    explanation.append(f"SLA plan {plan_name} {ruleset.plans[plan_name].label}")
    lead = assign(
        ruleset,
        TaskRole.lead,
        fallback,
        JurisdictionBasis.residence,
        facts,
        exclude=exclude,
        explanation=explanation,
    )
    return RoutingDecision(
        rule_id=NO_RULE,
        rules_version=ruleset.version,
        sla_plan=plan_name,
        lead=lead,
        explanation=explanation,
    )
