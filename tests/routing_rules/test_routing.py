from __future__ import annotations

from pathlib import Path

import pytest

from models.routing import OfficeKey, RoutingDecision
from routing_rules import RuleSet, decision_to_dict, load_ruleset
from tests.routing_rules.helpers import edit_yaml, facts


def placed(decision: RoutingDecision) -> tuple[str, tuple[tuple[str, str], ...], str, str]:
    """(rule, ((department, region) of lead and co...), sla plan, lead office id)."""
    offices = (decision.lead, *decision.co)
    return (
        decision.rule_id,
        tuple((a.office.department, a.office.region) for a in offices),
        decision.sla_plan,
        decision.lead.office.id,
    )


@pytest.mark.parametrize(
    ("category", "fields", "expected"),
    [
        pytest.param(
            category,
            {"workplace": "440106"},
            (
                "labour",
                (("hrss", "440106"), ("union", "440106")),
                "labour_inspection",
                "hrss.tianhe",
            ),
            id=category,
        )
        for category in ("wage_arrears", "social_insurance", "rest_rights")
    ]
    + [
        pytest.param(
            "labor_relation",
            {"workplace": "440106"},
            (
                "labour_relation",
                (("hrss", "440106"), ("union", "440106")),
                "labour_arbitration",
                "hrss.tianhe",
            ),
            id="labor_relation",
        ),
        pytest.param(
            "occupational_injury",
            {"workplace": "440106"},
            ("injury", (("hrss", "440106"), ("union", "440106")), "standard", "hrss.tianhe"),
            id="occupational_injury",
        ),
        pytest.param(
            "occupational_injury",
            {"workplace": "440113", "summary": "送餐途中摔倒受伤，平台不认工伤"},
            ("injury_urgent", (("hrss", "440113"), ("union", "440113")), "urgent", "hrss.panyu"),
            id="injury_urgent-rider",
        ),
        pytest.param(
            "occupational_injury",
            {"occupation": "courier", "summary": "派件时骨折住院"},
            ("injury_urgent", (("hrss", "440106"), ("union", "440106")), "urgent", "hrss.tianhe"),
            id="injury_urgent-courier",
        ),
        pytest.param(
            "occupational_injury",
            {"occupation": "ride_hailing", "summary": "载客途中受伤"},
            ("injury", (("hrss", "440106"), ("union", "440106")), "standard", "hrss.tianhe"),
            id="injury-ride_hailing-is-not-urgent",
        ),
        pytest.param(
            "platform_penalty",
            {"platform": "yangcheng_run", "workplace": "440111"},
            (
                "platform_conduct",
                (("samr", "440106"), ("hrss", "440111"), ("union", "440111")),
                "samr_complaint",
                "samr.tianhe",
            ),
            id="platform_penalty-internal-platform",
        ),
        pytest.param(
            "algorithm_rules",
            {"platform": "didi", "workplace": "440104"},
            (
                "platform_conduct",
                (("external_hotline", "110108"), ("hrss", "440104"), ("union", "440104")),
                "samr_complaint",
                "hotline.110108",
            ),
            id="algorithm_rules-external-platform",
        ),
        pytest.param(
            "fraud_loans",
            {"incident": "440113005"},
            ("fraud", (("police", "440113"), ("samr", "440113")), "standard", "police.panyu"),
            id="fraud_loans",
        ),
        pytest.param(
            "transport_operation",
            {"incident": "440113"},
            ("transport_operation", (("transport", "440113"),), "standard", "transport.panyu"),
            id="transport_operation-district",
        ),
        pytest.param(
            "transport_operation",
            {"incident": "440105"},
            ("transport_operation", (("transport", "440105"),), "standard", "transport.haizhu"),
            id="transport_operation-haizhu",
        ),
        pytest.param(
            "traffic_violation",
            {"incident": "440104003"},
            ("traffic_violation", (("police", "440104"),), "standard", "police.yuexiu"),
            id="traffic_violation",
        ),
        pytest.param(
            "parking_access",
            {"incident": "440106013"},
            (
                "community_access",
                (("subdistrict", "440106013"), ("housing", "440106")),
                "standard",
                "subdistrict.liede",
            ),
            id="parking_access",
        ),
        pytest.param(
            "community_access",
            {"incident": "440111010"},
            (
                "community_access",
                (("subdistrict", "440111010"), ("housing", "440111")),
                "standard",
                "subdistrict.jingxi",
            ),
            id="community_access",
        ),
        pytest.param(
            "housing",
            {"residence": "440105"},
            ("housing", (("housing", "440105"),), "standard", "housing.haizhu"),
            id="housing",
        ),
        pytest.param(
            "legal_aid",
            {"workplace": "440113"},
            ("union_services", (("union", "440113"),), "standard", "union.panyu"),
            id="legal_aid",
        ),
        pytest.param(
            "psychological_support",
            {"workplace": "440112"},
            ("union_services", (("union", "440112"),), "standard", "union.huangpu"),
            id="psychological_support-huangpu",
        ),
        pytest.param(
            "other",
            {"residence": "440111"},
            ("fallback", (("social_work", "440111"),), "standard", "social_work.baiyun"),
            id="fallback",
        ),
    ],
)
def test_sample_rules_route_as_specified(
    ruleset: RuleSet, category: str, fields: dict[str, str], expected: tuple[object, ...]
) -> None:
    decision = ruleset.route(facts(category, **fields))
    assert placed(decision) == expected
    assert decision.rules_version == ruleset.version


def test_wage_arrears_explained(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("wage_arrears", workplace="440106"))
    assert decision.lead.basis == "workplace"
    assert decision.lead.basis_region == "440106"
    assert decision.lead.office.handlers == ["hrss.tianhe.wang", "hrss.tianhe.li"]
    assert decision.explanation == [
        "category wage_arrears 拖欠劳动报酬",
        "rule 'labour' (劳动权益保障（劳动保障监察）, priority 100) matched: category wage_arrears",
        "SLA plan labour_inspection 劳动保障监察 (from the rule)",
        "主办 lead hrss 人力资源和社会保障局: basis 工作地 workplace → 440106 天河区",
        "  → 天河区人力资源和社会保障局 (hrss.tianhe, 区级 district level)",
        "协办 co union 总工会: basis 工作地 workplace → 440106 天河区",
        "  → 天河区总工会 (union.tianhe, 区级 district level)",
    ]


def test_most_local_office_is_chosen(ruleset: RuleSet) -> None:
    street = ruleset.route(facts("parking_access", incident="440106008"))
    assert street.lead.office.id == "subdistrict.tianhenan"
    # hrss has no street offices: a street workplace lands at its district bureau.
    district = ruleset.route(facts("wage_arrears", workplace="440106008"))
    assert district.lead.office.id == "hrss.tianhe"
    assert district.lead.fallback_reason is None


def office(data: dict[str, list[dict[str, str]]], office_id: str) -> dict[str, str]:
    return next(o for o in data["offices"] if o["id"] == office_id)


def test_district_without_office_falls_back_to_the_city_office(rules_dir: Path) -> None:
    # The sample has a bureau in every district: take 花都区's away.
    edit_yaml(rules_dir / "offices.yaml", lambda d: d["offices"].remove(office(d, "hrss.huadu")))
    edit_yaml(
        rules_dir / "staff.yaml",
        lambda d: d["staff"].remove(next(s for s in d["staff"] if s.get("office") == "hrss.huadu")),
    )
    ruleset = load_ruleset(rules_dir)
    decision = ruleset.route(facts("wage_arrears", workplace="440114"))
    assert decision.lead.office.id == "hrss.city"
    assert decision.lead.fallback_reason is None
    assert (
        "  人力资源和社会保障局 has no office at 花都区; its most local one is at 市级 city level"
        in decision.explanation
    )


def test_department_without_office_in_chain_goes_to_social_work(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("parking_access", incident="440106014"))
    lead = decision.lead
    assert (lead.office.id, lead.office.department, lead.office.region) == (
        "social_work.tianhe",
        "social_work",
        "440106",
    )
    assert lead.basis_region == "440106014"
    assert lead.fallback_reason == (
        "街道办事处 (subdistrict) has no office along 冼村街道 → 天河区 → 广州市; "
        "routed to 社会工作部 at 区级 district level (中共广州市天河区委社会工作部)"
    )
    assert [a.office.id for a in decision.co] == ["housing.tianhe"]

    # 南华西街道 has no street office either: 海珠区's 社会工作部 takes it.
    in_haizhu = ruleset.route(facts("community_access", incident="440105008"))
    assert in_haizhu.lead.office.id == "social_work.haizhu"
    assert in_haizhu.lead.fallback_reason is not None


def test_external_platform_domicile(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("platform_penalty", platform="meituan", workplace="440106008"))
    lead = decision.lead
    assert lead.external
    assert (lead.office.id, lead.basis, lead.basis_region) == (
        "hotline.110105",
        "platform_domicile",
        "110105",
    )
    # The platform is registered in Beijing: Beijing's 12345 hotline owns the lead task.
    assert lead.office.model_dump() == {
        "id": "hotline.110105",
        "department": "external_hotline",
        "region": "110105",
        "name": "北京市12345政务服务便民热线",
        "mailbox": "12345.beijing@appeals.example",
        "head_mailbox": None,
        "handlers": [],
        "office_hours": [],
    }
    assert lead.fallback_reason is None
    assert "  platform 美团 (meituan) is registered in 110105 北京市朝阳区" in decision.explanation
    assert (
        "  external hand-off to 北京市12345政务服务便民热线 (12345.beijing@appeals.example; "
        "external_hotlines.yaml prefix 11): region 110105 北京市朝阳区 is outside this deployment"
    ) in decision.explanation
    assert "  → 北京市12345政务服务便民热线 (hotline.110105, external hotline)" in (
        decision.explanation
    )
    # The co-handlers work where the worker works, not where the platform is registered.
    assert [(a.office.id, a.basis, a.basis_region, a.external) for a in decision.co] == [
        ("hrss.tianhe", "workplace", "440106008", False),
        ("union.tianhe", "workplace", "440106008", False),
    ]


def test_external_residence(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("housing", residence="440604"))
    assert decision.lead.external
    assert decision.lead.office.id == "social_work.city"
    assert decision.lead.basis_region == "440604"


def test_platform_domicile_without_a_known_platform_uses_the_workplace(ruleset: RuleSet) -> None:
    none = ruleset.route(facts("algorithm_rules", workplace="440111"))
    assert (none.lead.office.id, none.lead.basis, none.lead.basis_region) == (
        "samr.baiyun",
        "workplace",
        "440111",
    )
    assert "  the case names no platform; using the workplace 440111 白云区 instead" in (
        none.explanation
    )
    unknown = ruleset.route(facts("algorithm_rules", platform="shansong", workplace="440111"))
    assert unknown.lead.office.id == "samr.baiyun"
    assert (
        "  platform 'shansong' is not in platforms.yaml; using the workplace 440111 白云区 instead"
        in unknown.explanation
    )


def test_missing_incident_uses_the_workplace(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("traffic_violation", workplace="440113"))
    assert (decision.lead.office.id, decision.lead.basis, decision.lead.basis_region) == (
        "police.panyu",
        "workplace",
        "440113",
    )
    assert "  no incident place given; using the workplace 440113 番禺区 instead" in (
        decision.explanation
    )


def test_a_returning_office_is_not_chosen_again(ruleset: RuleSet) -> None:
    tianhe = OfficeKey(department="hrss", region="440106")
    decision = ruleset.route(facts("wage_arrears"), exclude=[tianhe])
    assert decision.lead.office.id == "hrss.city"
    assert decision.lead.fallback_reason == (
        "天河区人力资源和社会保障局 returned the case; moved up to 广州市人力资源和社会保障局"
    )
    assert decision.co[0].office.id == "union.tianhe"

    city = OfficeKey(department="hrss", region="440100")
    both = ruleset.route(facts("wage_arrears"), exclude=[tianhe, city])
    assert both.lead.office.id == "social_work.tianhe"
    assert both.lead.fallback_reason == (
        "every 人力资源和社会保障局 office along 天河区 → 广州市 has returned the case; "
        "routed to 社会工作部 at 区级 district level (中共广州市天河区委社会工作部)"
    )


def test_when_everyone_returned_it_a_supervisor_must_designate(ruleset: RuleSet) -> None:
    exclude = [
        OfficeKey(department=d, region=r)
        for d in ("hrss", "social_work")
        for r in ("440106", "440100")
    ]
    decision = ruleset.route(facts("wage_arrears"), exclude=exclude)
    assert decision.lead.office.id == "social_work.city"
    assert decision.lead.fallback_reason is not None
    assert decision.lead.fallback_reason.endswith(
        "routed to 中共广州市委社会工作部 anyway — a supervisor must designate the owner"
    )


def test_a_co_handler_landing_on_the_lead_office_is_not_added_twice(ruleset: RuleSet) -> None:
    exclude = [
        OfficeKey(department=d, region=r) for d in ("hrss", "union") for r in ("440106", "440100")
    ]
    decision = ruleset.route(facts("wage_arrears"), exclude=exclude)
    assert decision.lead.office.id == "social_work.tianhe"
    assert decision.co == []
    assert "  中共广州市天河区委社会工作部 already has this case; not added twice" in (
        decision.explanation
    )


def test_sla_plan_override(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("housing"), sla_plan_override="urgent")
    assert decision.sla_plan == "urgent"
    assert "SLA plan urgent 紧急: override of the rule's plan standard 标准" in (
        decision.explanation
    )
    drill = ruleset.route(facts("wage_arrears"), sla_plan_override="drill")
    assert drill.sla_plan == "drill"
    assert "SLA plan drill 演练: override of the rule's plan labour_inspection 劳动保障监察" in (
        drill.explanation
    )
    expected = (
        r"^unknown SLA plan 'fast'; known plans: standard, urgent, labour_inspection, "
        r"samr_complaint, labour_arbitration, drill, external_handoff, platform_liaison$"
    )
    with pytest.raises(ValueError, match=expected):
        ruleset.route(facts("housing"), sla_plan_override="fast")


def test_unknown_category(ruleset: RuleSet) -> None:
    expected = r"unknown category 'wages': .* has 16 categories, listed with their codes in "
    with pytest.raises(ValueError, match=expected):
        ruleset.route(facts("wages"))


def test_without_a_catch_all_a_case_still_goes_to_social_work(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: data.update(rules=[r for r in data["rules"] if r["id"] != "fallback"]),
    )
    decision = load_ruleset(rules_dir).route(facts("other"))
    assert (decision.rule_id, decision.lead.office.id, decision.sla_plan) == (
        "(none)",
        "social_work.baiyun",
        "standard",
    )


def test_decision_to_dict(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("platform_penalty", platform="meituan"))
    data = decision_to_dict(decision, ruleset)
    assert data["rule"] == "platform_conduct"
    assert data["rules_version"] == ruleset.version
    assert data["sla_plan"] == "samr_complaint"
    assert data["explanation"] == decision.explanation
    lead = data["lead"]
    assert {k: lead[k] for k in ("department", "region", "office", "basis", "external")} == {
        "department": "external_hotline",
        "region": "110105",
        "office": "hotline.110105",
        "basis": "platform_domicile",
        "external": True,
    }
    assert lead["office_name"] == "北京市12345政务服务便民热线"
    assert lead["mailbox"] == "12345.beijing@appeals.example"
    assert lead["basis_region_name"] == "北京市朝阳区"
    assert lead["fallback_reason"] is None
    assert lead["hand_off"] == {
        "hotline": "北京市12345政务服务便民热线",
        "mailbox": "12345.beijing@appeals.example",
        "region": "110105",
        "matched": "prefix 11",
        "region_name": "北京市朝阳区",
    }
    assert [(c["department"], c["region"], c["office"]) for c in data["co"]] == [
        ("hrss", "440106", "hrss.tianhe"),
        ("union", "440106", "union.tianhe"),
    ]
    assert all(c["hand_off"] is None for c in data["co"])
    assert data["external"] == [
        {
            "role": "lead",
            "department": "external_hotline",
            "office": "hotline.110105",
            "region": "110105",
            "hand_off": True,
        }
    ]
    liaison = data["liaison"]
    assert {k: liaison[k] for k in ("role", "department", "region", "office", "platform")} == {
        "role": "liaison",
        "department": "platform",
        "region": "110105",
        "office": "platform.meituan",
        "platform": "meituan",
    }
    assert liaison["mailbox"] == "liaison@meituan.example"
    assert liaison["handlers"] == ["meituan.liaison.wu"]
    plain = decision_to_dict(decision)
    assert "department_name" not in plain["lead"]
    assert plain["lead"]["hand_off"] == {
        "hotline": "北京市12345政务服务便民热线",
        "mailbox": "12345.beijing@appeals.example",
        "region": "110105",
    }


def test_decision_to_dict_without_liaison_or_external(ruleset: RuleSet) -> None:
    data = decision_to_dict(ruleset.route(facts("wage_arrears")))
    assert data["liaison"] is None
    assert data["external"] == []
    assert data["lead"]["hand_off"] is None and data["lead"]["platform"] is None
