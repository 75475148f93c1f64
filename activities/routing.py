"""Loads the routing rules and routes cases; the decision is recorded in history."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.notify import ClerkHeadRequest, Recipient, Recipients, SupervisorsRequest
from models.routing import (
    Assignment,
    EscalationContacts,
    PlanRequest,
    ResolveOfficeRequest,
    Roster,
    RoutedCase,
    RouteRequest,
)
from models.sla import SlaPlan
from routing_rules import RulesError, RuleSet, load_ruleset

log = logging.getLogger(__name__)
URGENT_PLAN = "urgent"
SPECIAL_PLANS = ("external_handoff", "platform_liaison")


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
                try:
                    self._rules = load_ruleset(self._dir)
                except RulesError as e:
                    if self._rules is None:
                        raise
                    # A half-edited rules directory must not stop routing: keep the
                    # last good version until the files check again.
                    log.error(
                        "rules in %s are invalid, keeping version %s: %s",
                        self._dir,
                        self._rules.version,
                        e,
                    )
                else:
                    log.info(
                        "routing rules version %s loaded from %s", self._rules.version, self._dir
                    )
                self._stamp = stamp
            return self._rules

    @activity.defn(name="route_case", no_thread_cancel_exception=True)
    def route_case(self, req: RouteRequest) -> RoutedCase:
        rules = self.rules()
        override = req.sla_plan_override
        if override is None and req.urgent and URGENT_PLAN in rules.plans:
            override = URGENT_PLAN
        try:
            decision = rules.route(
                req.facts,
                exclude=req.exclude,
                sla_plan_override=override,
                prefer_department=req.prefer_department,
                prefer_region=req.prefer_region,
            )
        except ValueError as e:  # a business error: retrying cannot help
            raise ApplicationError(str(e), type="RoutingError", non_retryable=True) from e
        lead = with_contacts(rules, decision.lead)
        liaison = decision.liaison
        if liaison is not None:
            liaison = with_contacts(rules, liaison, lead_office=lead.office.mailbox)
        decision = decision.model_copy(
            update={
                "lead": lead,
                "co": [with_contacts(rules, a) for a in decision.co],
                "liaison": liaison,
            }
        )
        category = rules.categories.get(req.facts.category)
        roster = rules.roster().model_copy(update={"plans": sorted(rules.plans)})
        if not req.placements:
            roster.placements = {}
        if not req.roster:
            return RoutedCase(
                decision=decision,
                plan=rules.plans[decision.sla_plan],
                roster=Roster(),
                category_label=category.label if category else "",
            )
        return RoutedCase(
            decision=decision,
            plan=rules.plans[decision.sla_plan],
            roster=roster,
            category_label=category.label if category else "",
            special_plans={n: rules.plans[n] for n in SPECIAL_PLANS if n in rules.plans},
        )

    @activity.defn(name="get_plan", no_thread_cancel_exception=True)
    def get_plan(self, req: PlanRequest) -> SlaPlan:
        plan = self.rules().plans.get(req.name)
        if plan is None:
            raise ApplicationError(
                f"unknown SLA plan {req.name!r}", type="RoutingError", non_retryable=True
            )
        return plan

    @activity.defn(name="resolve_office", no_thread_cancel_exception=True)
    def resolve_office(self, req: ResolveOfficeRequest) -> Assignment:
        try:
            rules = self.rules()
            return with_contacts(rules, rules.resolve(req.department, req.region))
        except ValueError as e:
            raise ApplicationError(str(e), type="RoutingError", non_retryable=True) from e

    @activity.defn(name="supervisors_for", no_thread_cancel_exception=True)
    def supervisors_for(self, req: SupervisorsRequest) -> Recipients:
        """The supervisors (with a mailbox) whose region is ``req.region`` or above it:
        the people whose scope reaches a task there."""
        rules = self.rules()
        chain = {r.code for r in rules.region_chain(req.region)} or {req.region}
        return Recipients(
            to=[
                Recipient(address=s.mailbox, name=s.name, role="supervisor")
                for s in rules.staff.values()
                if s.role.value == "supervisor" and s.mailbox and s.region in chain
            ]
        )

    @activity.defn(name="clerk_head", no_thread_cancel_exception=True)
    def clerk_head(self, req: ClerkHeadRequest) -> Recipients:
        """The head of the clerk's office (their department in their region), or the
        office's mailbox when it names no head; nobody for an unknown clerk."""
        rules = self.rules()
        clerk = rules.staff_member(req.clerk)
        office = rules.office_for(clerk.department, clerk.region) if clerk else None
        if office is None:
            return Recipients()
        address = office.head_mailbox or office.mailbox
        return Recipients(to=[Recipient(address=address, name=office.name, role="head")])


def with_contacts(rules: RuleSet, a: Assignment, *, lead_office: str | None = None) -> Assignment:
    """Attach who hears about the task's clocks, from the directory at routing time."""
    city = (
        rules.root_office(a.office.department) if a.office.department in rules.departments else None
    )
    supervision = rules.root_office(rules.deployment.fallback_department)
    contacts = EscalationContacts(
        office=a.office.mailbox,
        head=a.office.head_mailbox,
        city_department=city.mailbox if city else None,
        supervision=supervision.mailbox if supervision else None,
        leadership=rules.deployment.leadership_mailbox,
        lead_office=lead_office,
    )
    return a.model_copy(update={"contacts": contacts})
