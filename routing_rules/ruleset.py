"""A loaded deployment: the directory, the rules and the SLA plans, with a version hash."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from models.routing import OfficeKey, RoutingDecision, RoutingFacts
from models.sla import SlaPlan
from routing_rules import matcher
from routing_rules.directory import Directory
from routing_rules.schema import (
    Category,
    DefaultHotline,
    Department,
    Deployment,
    Hotline,
    OfficeEntry,
    Platform,
    Region,
    Rule,
    StaffMember,
)


class RuleSet(Directory):
    """Everything routing needs, read from one rules directory.

    Attributes:
        version: short sha256 of the files' bytes; recorded in every decision.
        rules: the rules in the order they are tried (priority high to low, then file order).
        plans: SLA plans by name.
        source: the directory the rules were loaded from, if any.
    """

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
        rules: Iterable[Rule],
        plans: Iterable[SlaPlan],
        version: str,
        source: Path | None = None,
        hotlines: Iterable[Hotline] = (),
        default_hotline: DefaultHotline | None = None,
    ) -> None:
        super().__init__(
            deployment=deployment,
            regions=regions,
            departments=departments,
            offices=offices,
            platforms=platforms,
            staff=staff,
            categories=categories,
            hotlines=hotlines,
            default_hotline=default_hotline,
        )
        # sorted() is stable, so equal priorities keep their file order.
        self.rules: list[Rule] = sorted(rules, key=lambda rule: -rule.priority)
        self.plans: dict[str, SlaPlan] = {plan.name: plan for plan in plans}
        self.version = version
        self.source = source

    def rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def route(
        self,
        facts: RoutingFacts,
        *,
        exclude: Collection[OfficeKey] = (),
        sla_plan_override: str | None = None,
        prefer_department: str | None = None,
        prefer_region: str | None = None,
    ) -> RoutingDecision:
        """Route a case: see ``routing_rules.matcher.route``."""
        return matcher.route(
            self,
            facts,
            exclude=exclude,
            sla_plan_override=sla_plan_override,
            prefer_department=prefer_department,
            prefer_region=prefer_region,
        )
