from __future__ import annotations

import pytest

from models.common import JurisdictionBasis
from models.routing import OfficeKey, TaskRole
from routing_rules import RuleSet
from tests.routing_rules.helpers import facts


def test_region_chain_goes_from_street_to_city(ruleset: RuleSet) -> None:
    chain = ruleset.region_chain("440106013")
    assert [(r.code, r.name, r.level) for r in chain] == [
        ("440106013", "猎德街道", "street"),
        ("440106", "天河区", "district"),
        ("440100", "广州市", "city"),
    ]
    assert [r.code for r in ruleset.region_chain("440114")] == ["440114", "440100"]
    assert [r.code for r in ruleset.region_chain("440100")] == ["440100"]


def test_an_unlisted_street_is_served_through_its_district(ruleset: RuleSet) -> None:
    assert [r.code for r in ruleset.region_chain("440106099")] == ["440106", "440100"]
    assert ruleset.is_internal("440106099")


def test_regions_outside_the_deployment_are_external(ruleset: RuleSet) -> None:
    for code in ("110105", "110108", "310107", "440305", "440604", "440199001"):
        assert not ruleset.is_internal(code), code
        assert ruleset.region_chain(code) == []
    for code in ("440100", "440103", "440118", "440113005"):
        assert ruleset.is_internal(code), code
    assert ruleset.region_name("110105") == "北京市朝阳区"


def test_all_eleven_districts_with_their_codes(ruleset: RuleSet) -> None:
    districts = {r.code: r.name for r in ruleset.regions.values() if r.level == "district"}
    assert districts == {
        "440103": "荔湾区",
        "440104": "越秀区",
        "440105": "海珠区",
        "440106": "天河区",
        "440111": "白云区",
        "440112": "黄埔区",
        "440113": "番禺区",
        "440114": "花都区",
        "440115": "南沙区",
        "440117": "从化区",
        "440118": "增城区",
    }
    assert all(ruleset.regions[c].parent == "440100" for c in districts)


def test_office_for_picks_the_most_local_office(ruleset: RuleSet) -> None:
    at_street = ruleset.office_for("subdistrict", "440106013")
    assert at_street is not None and at_street.id == "subdistrict.liede"
    in_district = ruleset.office_for("hrss", "440106013")
    assert in_district is not None and in_district.id == "hrss.tianhe"
    assert in_district.name == "天河区人力资源和社会保障局"
    assert in_district.mailbox == "hrss.tianhe@appeals.example"
    assert in_district.head_mailbox == "hrss.tianhe.head@appeals.example"
    assert in_district.handlers == ["hrss.tianhe.wang", "hrss.tianhe.li"]
    # Every district has its own transport bureau; the city's serves the city itself.
    in_haizhu = ruleset.office_for("transport", "440105008")
    assert in_haizhu is not None and in_haizhu.id == "transport.haizhu"
    at_city = ruleset.office_for("transport", "440100")
    assert at_city is not None and at_city.id == "transport.city"
    assert ruleset.office_for("subdistrict", "440105") is None
    assert ruleset.office_for("hrss", "110105") is None


def test_staff_and_handlers(ruleset: RuleSet) -> None:
    clerk = ruleset.staff_member("clerk.li")
    assert clerk is not None
    assert (clerk.name, clerk.role, clerk.department, clerk.region) == (
        "李静",
        "clerk",
        "social_work",
        "440100",
    )
    assert ruleset.staff_member("nobody") is None
    assert ruleset.handlers_of("hrss.tianhe") == ["hrss.tianhe.wang", "hrss.tianhe.li"]
    assert ruleset.handlers_of("samr.city") == ["samr.city.jiang"]
    assert ruleset.handlers_of("social_work.city") == [
        "social_work.city.xie",
        "social_work.city.zou",
    ]
    assert ruleset.handlers_of("subdistrict.liede") == ["subdistrict.liede.su"]
    assert ruleset.handlers_of("union.tianhe") == ["union.tianhe.jin"]
    assert ruleset.handlers_of("no.such.office") == []
    assert all(office.handlers for office in ruleset.offices.values())


def test_roster(ruleset: RuleSet) -> None:
    roster = ruleset.roster()
    assert roster.clerks == ["clerk.li", "clerk.chen", "clerk.huang", "clerk.panyu.fang"]
    assert roster.supervisors == [
        "sup.zhang",
        "sup.liu",
        "sup.zhou",
        "sup.tianhe.ma",
        "sup.panyu.ou",
    ]
    assert roster.departments == [
        "hrss",
        "transport",
        "samr",
        "police",
        "housing",
        "union",
        "social_work",
        "subdistrict",
    ]
    assert "440100" in roster.regions and "440106013" in roster.regions
    assert "110105" not in roster.regions


def test_platforms(ruleset: RuleSet) -> None:
    domiciles = {p.code: p.domicile for p in ruleset.platforms.values()}
    assert domiciles == {
        "meituan": "110105",
        "eleme": "310107",
        "didi": "110108",
        "huolala": "440305",
        "sf_express": "440304",
        "yangcheng_run": "440106",
    }
    assert [code for code, d in domiciles.items() if ruleset.is_internal(d)] == ["yangcheng_run"]


def test_resolve_for_a_transfer(ruleset: RuleSet) -> None:
    assignment = ruleset.resolve("samr", "440106008")
    assert assignment.office.id == "samr.tianhe"
    assert assignment.role == TaskRole.lead
    assert assignment.basis == JurisdictionBasis.workplace
    assert assignment.basis_region == "440106008"
    assert not assignment.external and assignment.fallback_reason is None

    co = ruleset.resolve("transport", "440111", role=TaskRole.co, basis=JurisdictionBasis.incident)
    assert (co.office.id, co.role, co.basis) == ("transport.baiyun", "co", "incident")

    no_office = ruleset.resolve("subdistrict", "440105")
    assert no_office.office.id == "social_work.haizhu"
    assert no_office.fallback_reason is not None

    excluded = ruleset.resolve(
        "samr", "440106", exclude=[OfficeKey(department="samr", region="440106")]
    )
    assert excluded.office.id == "samr.city"

    # A transfer to a region outside the deployment is a hand-off to its hotline.
    external = ruleset.resolve("hrss", "440305")
    assert (external.external, external.office.id, external.office.name) == (
        True,
        "hotline.440305",
        "深圳市12345政务服务便民热线",
    )
    assert external.fallback_reason is None
    # 佛山 (4406) has no hotline in external_hotlines.yaml: 社会工作部 takes it.
    no_hotline = ruleset.resolve("hrss", "440604")
    assert no_hotline.external and no_hotline.office.id == "social_work.city"


def test_resolve_rejects_an_unknown_department(ruleset: RuleSet) -> None:
    with pytest.raises(ValueError, match="unknown department 'hrs'; known departments: hrss, "):
        ruleset.resolve("hrs", "440106")


DISTRICT_DEPARTMENTS = ("hrss", "transport", "samr", "police", "housing", "union", "social_work")


def test_every_district_has_every_district_department(ruleset: RuleSet) -> None:
    districts = [r for r in ruleset.regions.values() if r.level == "district"]
    assert len(districts) == 11
    for department in DISTRICT_DEPARTMENTS:
        for district in districts:
            office = ruleset.office_for(department, district.code)
            assert office is not None and office.region == district.code, (department, district)
            assert office.handlers and office.head_mailbox, office.id


@pytest.mark.parametrize(
    ("category", "fields", "lead"),
    [
        ("wage_arrears", {"workplace": "440112"}, "hrss.huangpu"),
        ("wage_arrears", {"workplace": "440118"}, "hrss.zengcheng"),
        ("traffic_violation", {"incident": "440112"}, "police.huangpu"),
        ("traffic_violation", {"incident": "440118"}, "police.zengcheng"),
        ("transport_operation", {"incident": "440118"}, "transport.zengcheng"),
        ("housing", {"residence": "440112"}, "housing.huangpu"),
        ("other", {"residence": "440118"}, "social_work.zengcheng"),
    ],
)
def test_cases_in_huangpu_and_zengcheng_go_to_the_district(
    ruleset: RuleSet, category: str, fields: dict[str, str], lead: str
) -> None:
    decision = ruleset.route(facts(category, **fields))
    assert decision.lead.office.id == lead
    assert decision.lead.fallback_reason is None
    assert all(a.office.region == decision.lead.office.region for a in decision.co)
