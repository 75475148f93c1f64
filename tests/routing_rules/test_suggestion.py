"""Owner suggestion on re-route: a returning office names the department it believes
owns the case (``return --owner``); routing follows it when the rules allow it."""

from __future__ import annotations

from models.routing import OfficeKey
from routing_rules import RuleSet
from tests.routing_rules.helpers import facts

HRSS_TIANHE = OfficeKey(department="hrss", region="440106")
POLICE_PANYU = OfficeKey(department="police", region="440113")


def test_suggested_owner_is_taken_keeping_co_handlers_and_plan(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("fraud_loans", incident="440113005"),
        exclude=[POLICE_PANYU],
        prefer_department="transport",
    )
    assert (decision.rule_id, decision.sla_plan) == ("fraud", "standard")
    lead = decision.lead
    assert (lead.role, lead.office.id, lead.basis, lead.basis_region) == (
        "lead",
        "transport.panyu",
        "incident",
        "440113005",
    )
    assert lead.fallback_reason is None and not lead.external
    assert [(c.role, c.office.id) for c in decision.co] == [("co", "samr.panyu")]
    assert decision.explanation[3:6] == [
        "suggested owner transport 交通运输局 taken instead of the rule's lead police 公安局",
        "主办 lead transport 交通运输局: basis 事发地 incident place → 440113005 市桥街道",
        "  → 番禺区交通运输局 (transport.panyu, 区级 district level)",
    ]


def test_suggested_owner_at_a_suggested_region(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("wage_arrears"),
        exclude=[HRSS_TIANHE],
        prefer_department="samr",
        prefer_region="440105",
    )
    assert (decision.rule_id, decision.sla_plan) == ("labour", "labour_inspection")
    assert (decision.lead.office.id, decision.lead.basis, decision.lead.basis_region) == (
        "samr.haizhu",
        "workplace",
        "440105",
    )
    assert [c.office.id for c in decision.co] == ["union.tianhe"]
    assert "主办 lead samr 市场监督管理局: suggested region → 440105 海珠区" in decision.explanation


def test_suggested_owner_moves_up_within_its_own_department(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("wage_arrears"),
        exclude=[OfficeKey(department="samr", region="440106")],
        prefer_department="samr",
    )
    assert decision.lead.office.id == "samr.city"
    assert decision.lead.fallback_reason == (
        "天河区市场监督管理局 returned the case; moved up to 广州市市场监督管理局"
    )
    assert (
        "suggested owner samr 市场监督管理局 taken instead of the rule's lead "
        "hrss 人力资源和社会保障局"
    ) in decision.explanation


def test_suggestion_of_the_rules_own_lead_department(ruleset: RuleSet) -> None:
    # The platform is registered in Beijing, but a supervisor-level re-route places
    # 市场监管 where the worker works.
    decision = ruleset.route(
        facts("platform_penalty", platform="meituan"),
        prefer_department="samr",
        prefer_region="440106",
    )
    assert (decision.lead.office.id, decision.lead.external) == ("samr.tianhe", False)
    assert "suggested owner samr 市场监督管理局 taken (the rule's lead department too)" in (
        decision.explanation
    )
    assert decision.liaison is not None and decision.liaison.office.id == "platform.meituan"


def test_a_co_handler_suggested_as_owner_is_not_added_twice(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("wage_arrears"), exclude=[HRSS_TIANHE], prefer_department="union"
    )
    assert decision.lead.office.id == "union.tianhe"
    assert decision.co == []
    assert "  天河区总工会 already has this case; not added twice" in decision.explanation


def test_unknown_department_is_not_followed(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("wage_arrears"), exclude=[HRSS_TIANHE], prefer_department="labour_bureau"
    )
    assert (decision.rule_id, decision.lead.office.id) == ("labour", "hrss.city")
    assert decision.lead.fallback_reason == (
        "天河区人力资源和社会保障局 returned the case; moved up to 广州市人力资源和社会保障局"
    )
    assert [c.office.id for c in decision.co] == ["union.tianhe"]
    assert decision.explanation[3] == (
        "suggested owner 'labour_bureau' not followed: it is not a department in "
        "departments.yaml; routed by the rules"
    )


def test_a_suggested_department_whose_offices_all_returned_it_is_not_followed(
    ruleset: RuleSet,
) -> None:
    exclude = [
        HRSS_TIANHE,
        OfficeKey(department="union", region="440106"),
        OfficeKey(department="union", region="440100"),
    ]
    decision = ruleset.route(facts("wage_arrears"), exclude=exclude, prefer_department="union")
    assert decision.lead.office.id == "hrss.city"
    assert [c.office.id for c in decision.co] == ["social_work.tianhe"]
    assert decision.explanation[3] == (
        "suggested owner union 总工会 not followed: every 总工会 office along 天河区 → 广州市 "
        "has returned the case; routed by the rules"
    )


def test_a_suggested_department_without_an_office_in_the_chain_is_not_followed(
    ruleset: RuleSet,
) -> None:
    # 冼村街道 has no street office: 社会工作部 天河区 took the case and returns it,
    # suggesting the street office.
    decision = ruleset.route(
        facts("community_access", incident="440106014"),
        exclude=[OfficeKey(department="social_work", region="440106")],
        prefer_department="subdistrict",
    )
    assert decision.lead.office.id == "social_work.city"
    assert decision.explanation[3] == (
        "suggested owner subdistrict 街道办事处 not followed: 街道办事处 (subdistrict) has no "
        "office along 冼村街道 → 天河区 → 广州市; routed by the rules"
    )


def test_a_suggestion_pushing_work_down_to_streets_is_not_followed(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("fraud_loans", incident="440113005"),
        exclude=[POLICE_PANYU],
        prefer_department="subdistrict",
    )
    assert (decision.lead.office.id, decision.lead.office.department) == ("police.city", "police")
    assert decision.explanation[3] == (
        "suggested owner subdistrict 街道办事处 not followed: the catalogue assigns fraud_loans "
        "to police; the 2025 rules forbid pushing a department's work down to streets; "
        "routed by the rules"
    )


def test_a_suggestion_for_a_region_outside_the_deployment_is_not_followed(
    ruleset: RuleSet,
) -> None:
    decision = ruleset.route(
        facts("platform_penalty", platform="meituan"), prefer_department="samr"
    )
    assert (decision.lead.office.id, decision.lead.external) == ("hotline.110105", True)
    assert decision.explanation[3] == (
        "suggested owner samr 市场监督管理局 not followed: region 110105 北京市朝阳区 is outside "
        "this deployment; routed by the rules"
    )


def test_without_a_suggestion_nothing_is_said_about_one(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("wage_arrears"), exclude=[HRSS_TIANHE])
    assert not any("suggested" in line for line in decision.explanation)
