"""Filters with a typo are errors, never an empty list a supervisor might believe."""

from __future__ import annotations

from models.tasks import TaskStatus
from routing_rules import RuleSet
from routing_rules.national_check import not_a_region
from services.errors import BadInput


def _one_of(what: str, value: str, known: list[str]) -> None:
    if value not in known:
        shown = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
        raise BadInput(f"unknown {what} {value!r}: one of {shown}")


def clock_names(rules: RuleSet) -> list[str]:
    return sorted({c.name for plan in rules.plans.values() for c in plan.clocks})


def check_target_region(rules: RuleSet, arg: object) -> None:
    """An action naming an office's region (designate, transfer, add a co-handler) must
    name a region of this deployment; refused here in one line with the nearest ones,
    before the workflow's validator would say only "unknown"."""
    region = getattr(arg, "region", None)
    if region and (refusal := not_a_region(region, rules, what="region")):
        raise BadInput(refusal)


def check_filters(
    rules: RuleSet,
    *,
    department: str | None = None,
    region: str | None = None,
    status: str | None = None,
    clock: str | None = None,
    category: str | None = None,
) -> None:
    if department:
        _one_of("department", department, sorted(rules.departments))
    if region and (refusal := not_a_region(region, rules, what="region", streets=True)):
        raise BadInput(refusal)
    if status:
        _one_of("status", status, [s.value for s in TaskStatus])
    if clock:
        _one_of("clock", clock, clock_names(rules))
    if category:
        _one_of("category", category, sorted(rules.categories))
