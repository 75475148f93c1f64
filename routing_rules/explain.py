"""A routing decision as plain data, for ``appeals rules explain --json`` and logs."""

from __future__ import annotations

from typing import Any

from models.routing import Assignment, RoutingDecision
from routing_rules.directory import EXTERNAL_HOTLINE, PLATFORM, Directory


def assignment_to_dict(
    assignment: Assignment, directory: Directory | None = None
) -> dict[str, Any]:
    """One assignment as JSON-ready data; names are added when ``directory`` is given.

    ``hand_off`` describes an external hand-off to another region's hotline (null for
    any other office); ``platform`` names the platform of a liaison task (else null).
    """
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
        "needs_designation": assignment.needs_designation,
        "hand_off": None,
        "platform": None,
    }
    if office.department == EXTERNAL_HOTLINE:
        data["hand_off"] = {
            "hotline": office.name,
            "mailbox": office.mailbox,
            "region": office.region,
        }
    if office.department == PLATFORM:
        data["platform"] = office.id.removeprefix(f"{PLATFORM}.")
    if assignment.contacts is not None:
        data["contacts"] = assignment.contacts.model_dump()
    if directory is not None:
        data["department_name"] = (
            "外地12345热线 external hotline"
            if office.department == EXTERNAL_HOTLINE
            else "平台企业 platform"
            if office.department == PLATFORM
            else directory.department_name(office.department)
        )
        data["region_name"] = directory.region_name(office.region)
        data["basis_region_name"] = directory.region_name(assignment.basis_region)
        if data["hand_off"] is not None:
            found = directory.hotline_for(office.region)
            data["hand_off"]["matched"] = found[1] if found else None
            data["hand_off"]["region_name"] = data["region_name"]
    return data


def decision_to_dict(
    decision: RoutingDecision, directory: Directory | None = None
) -> dict[str, Any]:
    """The decision as JSON-ready data: rule, rules_version, sla_plan, lead, co, liaison
    (null when the rule asks for none or the case names no known platform), external
    (the roles handed off to another region's hotline or marked external) and explanation.

    Args:
        decision: what ``RuleSet.route`` returned.
        directory: the rule set (or its directory), to add department and region names.
    """
    assignments = [decision.lead, *decision.co]
    return {
        "rule": decision.rule_id,
        "rules_version": decision.rules_version,
        "sla_plan": decision.sla_plan,
        "lead": assignment_to_dict(decision.lead, directory),
        "co": [assignment_to_dict(co, directory) for co in decision.co],
        "liaison": (assignment_to_dict(decision.liaison, directory) if decision.liaison else None),
        "external": [
            {
                "role": str(a.role),
                "department": a.office.department,
                "office": a.office.id,
                "region": a.basis_region,
                "hand_off": a.office.department == EXTERNAL_HOTLINE,
            }
            for a in assignments
            if a.external
        ],
        "explanation": list(decision.explanation),
    }
