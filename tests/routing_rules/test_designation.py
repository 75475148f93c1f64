"""When routing runs out of offices, the decision says so in a field a workflow can
trust (``needs_designation``), not in words meant for people."""

from __future__ import annotations

from models.routing import OfficeKey
from routing_rules import RuleSet
from routing_rules.explain import decision_to_dict
from tests.routing_rules.helpers import facts

EVERY_HRSS_AND_SOCIAL_WORK = [
    OfficeKey(department=d, region=r) for d in ("hrss", "social_work") for r in ("440106", "440100")
]


def test_everyone_returned_it_so_a_supervisor_must_designate(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("wage_arrears"), exclude=EVERY_HRSS_AND_SOCIAL_WORK)
    assert decision.lead.office.id == "social_work.city"
    assert decision.lead.needs_designation is True
    assert decision_to_dict(decision, ruleset)["lead"]["needs_designation"] is True


def test_moving_up_or_to_social_work_needs_no_designation(ruleset: RuleSet) -> None:
    tianhe = OfficeKey(department="hrss", region="440106")
    moved_up = ruleset.route(facts("wage_arrears"), exclude=[tianhe])
    city = OfficeKey(department="hrss", region="440100")
    to_social_work = ruleset.route(facts("wage_arrears"), exclude=[tianhe, city])
    plain = ruleset.route(facts("wage_arrears"))
    for decision in (plain, moved_up, to_social_work):
        assert decision.lead.needs_designation is False, decision.lead.fallback_reason
        assert decision_to_dict(decision)["lead"]["needs_designation"] is False


def test_an_external_case_needs_designation_only_once_social_work_returned_it(
    ruleset: RuleSet,
) -> None:
    # No hotline for 440604: the city's 社会工作部 takes it, until it returns it too.
    outside = ruleset.route(facts("housing", residence="440604"))
    assert (outside.lead.office.id, outside.lead.needs_designation) == ("social_work.city", False)
    returned = ruleset.route(
        facts("housing", residence="440604"),
        exclude=[OfficeKey(department="social_work", region="440100")],
    )
    assert (returned.lead.external, returned.lead.needs_designation) == (True, True)


def test_co_handlers_and_transfers_carry_the_field_too(ruleset: RuleSet) -> None:
    transfer = ruleset.resolve("hrss", "440106", exclude=EVERY_HRSS_AND_SOCIAL_WORK)
    assert (transfer.office.id, transfer.needs_designation) == ("social_work.city", True)
    assert all(not c.needs_designation for c in ruleset.route(facts("wage_arrears")).co)
