"""A routing decision as plain data, for ``appeals rules explain --json`` and logs."""

from __future__ import annotations

from typing import Any

from models.routing import Assignment, RoutingDecision
from routing_rules.directory import Directory


def assignment_to_dict(
    assignment: Assignment, directory: Directory | None = None
) -> dict[str, Any]:
    """One assignment as JSON-ready data; names are added when ``directory`` is given."""
    office = assignment.office
    data: dict[str, Any] = {
        "role": str(assignment.role),
        "department": office.department,
        "region": office.region,
        "office": office.id,
        "office_name": office.name,
        "mailbox": office.mailbox,
        "head_mailbox": office.head_mailbox,
        "handlers": list(office.handlers),
        "basis": str(assignment.basis),
        "basis_region": assignment.basis_region,
        "external": assignment.external,
        "fallback_reason": assignment.fallback_reason,
    }
    if directory is not None:
        data["department_name"] = directory.department_name(office.department)
        data["region_name"] = directory.region_name(office.region)
        data["basis_region_name"] = directory.region_name(assignment.basis_region)
    return data


def decision_to_dict(
    decision: RoutingDecision, directory: Directory | None = None
) -> dict[str, Any]:
    """The decision as JSON-ready data: lead, co, sla_plan, rule, rules_version, explanation.

    Args:
        decision: what ``RuleSet.route`` returned.
        directory: the rule set (or its directory), to add department and region names.
    """
    return {
        "rule": decision.rule_id,
        "rules_version": decision.rules_version,
        "sla_plan": decision.sla_plan,
        "lead": assignment_to_dict(decision.lead, directory),
        "co": [assignment_to_dict(co, directory) for co in decision.co],
        "explanation": list(decision.explanation),
    }
