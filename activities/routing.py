"""Loads the routing rules and routes cases; the decision is recorded in history."""

from __future__ import annotations

import threading
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.routing import Assignment, ResolveOfficeRequest, RoutedCase, RouteRequest
from routing_rules import RuleSet, load_ruleset

URGENT_PLAN = "urgent"


class RoutingActivities:
    """Holds the rules directory; reloads it when its files change (``rules reload``
    is therefore just editing the files), and never re-routes a decided case."""

    def __init__(self, rules_dir: Path) -> None:
        self._dir = rules_dir
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._rules: RuleSet | None = None

    def rules(self) -> RuleSet:
        stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in self._dir.glob("*.yaml")))
        with self._lock:
            if self._rules is None or stamp != self._stamp:
                self._rules = load_ruleset(self._dir)
                self._stamp = stamp
            return self._rules

    @activity.defn(name="route_case")
    def route_case(self, req: RouteRequest) -> RoutedCase:
        rules = self.rules()
        override = req.sla_plan_override
        if override is None and req.urgent and URGENT_PLAN in rules.plans:
            override = URGENT_PLAN
        try:
            decision = rules.route(req.facts, exclude=req.exclude, sla_plan_override=override)
        except ValueError as e:  # a business error: retrying cannot help
            raise ApplicationError(str(e), type="RoutingError", non_retryable=True) from e
        return RoutedCase(
            decision=decision, plan=rules.plans[decision.sla_plan], roster=rules.roster()
        )

    @activity.defn(name="resolve_office")
    def resolve_office(self, req: ResolveOfficeRequest) -> Assignment:
        try:
            return self.rules().resolve(req.department, req.region)
        except ValueError as e:
            raise ApplicationError(str(e), type="RoutingError", non_retryable=True) from e
