from __future__ import annotations

from pathlib import Path
from typing import Any

from routing_rules import check_directory, load_ruleset
from tests.routing_rules.helpers import edit_yaml, replace_text, rule_named


def add_rule(rules_dir: Path, **rule: Any) -> None:
    edit_yaml(rules_dir / "rules.yaml", lambda data: data["rules"].append(rule))


def test_sample_has_no_problems(rules_dir: Path) -> None:
    assert check_directory(rules_dir) == []


def test_equal_priority_overlap_is_ambiguous(rules_dir: Path) -> None:
    add_rule(
        rules_dir,
        id="rider_wages",
        priority=100,
        match={"categories": ["wage_arrears", "other"], "occupations": ["rider"]},
        lead={"department": "union", "basis": "workplace"},
        sla_plan="standard",
    )
    load_ruleset(rules_dir)  # loads: file order would decide, which check refuses
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'rider_wages': ambiguous with rule 'labour': both have priority 100 "
        "and can match the same case; give one a higher priority or make their matches disjoint"
    ]


def test_a_rule_shadowed_by_a_higher_priority_superset_is_unreachable(rules_dir: Path) -> None:
    add_rule(
        rules_dir,
        id="wages_only",
        priority=50,
        match={"categories": ["wage_arrears"], "platforms": ["meituan"]},
        lead={"department": "hrss", "basis": "residence"},
        sla_plan="standard",
    )
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'wages_only': can never match: rule 'labour' (priority 100) is tried "
        "first and matches every case this one matches"
    ]


def test_keywords_shadowed_by_shorter_keywords(rules_dir: Path) -> None:
    add_rule(
        rules_dir,
        id="injured_in_hospital",
        priority=150,
        match={
            "categories": ["occupational_injury"],
            "occupations": ["rider"],
            "keywords": ["受伤住院", "工伤认定"],
        },
        lead={"department": "hrss", "basis": "workplace"},
        sla_plan="urgent",
    )
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'injured_in_hospital': can never match: rule 'injury_urgent' "
        "(priority 200) is tried first and matches every case this one matches"
    ]


def test_a_narrower_keyword_rule_is_not_shadowed(rules_dir: Path) -> None:
    add_rule(
        rules_dir,
        id="injured_at_night",
        priority=150,
        match={"categories": ["occupational_injury"], "keywords": ["夜间"]},
        lead={"department": "hrss", "basis": "workplace"},
        sla_plan="urgent",
    )
    assert check_directory(rules_dir) == []


def test_empty_category_list_can_never_match(rules_dir: Path) -> None:
    add_rule(
        rules_dir,
        id="nothing",
        priority=10,
        match={"categories": []},
        lead={"department": "hrss", "basis": "workplace"},
        sla_plan="standard",
    )
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'nothing': can never match: its categories list is empty"
    ]


def test_a_catch_all_above_other_rules_shadows_them(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "fallback").update(priority=150),
    )
    problems = check_directory(rules_dir)
    assert len(problems) == 10  # every rule but injury_urgent (200) and fallback itself
    assert problems[0] == (
        "rules.yaml: rule 'labour': can never match: rule 'fallback' (priority 150) is tried "
        "first and matches every case this one matches"
    )
    assert [problem.split("'")[1] for problem in problems] == [
        "labour",
        "labour_relation",
        "injury",
        "platform_conduct",
        "fraud",
        "transport_operation",
        "traffic_violation",
        "community_access",
        "housing",
        "union_services",
    ]


def test_missing_catch_all(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: data.update(rules=[r for r in data["rules"] if r["id"] != "fallback"]),
    )
    assert check_directory(rules_dir) == [
        "rules.yaml: no catch-all rule: add a fallback rule (兜底) with match: "
        "{categories: ['*']} and the lowest priority, so no case is left unrouted"
    ]


def test_department_without_any_office(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "departments.yaml",
        "  - {code: subdistrict, name: 街道办事处, short: 街道}\n",
        "  - {code: subdistrict, name: 街道办事处, short: 街道}\n"
        "  - {code: emergency, name: 应急管理局}\n",
    )
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "fraud")["co"].append({"department": "emergency"}),
    )
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'fraud': department 'emergency' has no office in offices.yaml; "
        "every such case would fall back"
    ]


def test_office_without_handler(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "staff.yaml",
        "  - {id: union.tianhe.jin, name: 金雪, role: handler, department: union, "
        'region: "440106", office: union.tianhe}\n',
        "",
    )
    assert check_directory(rules_dir) == [
        "offices.yaml: office 'union.tianhe': no handler in staff.yaml works there"
    ]


# -- the dispatch catalogue: no pushing a department's work down to streets -------------

PUSH_DOWN = "the 2025 rules forbid pushing a department's work down to streets"


def test_catalogue_owners(rules_dir: Path) -> None:
    owners = {c.code: c.owner for c in load_ruleset(rules_dir).categories.values()}
    assert owners == {
        "wage_arrears": "hrss",
        "labor_relation": "hrss",
        "social_insurance": "hrss",
        "occupational_injury": "hrss",
        "rest_rights": "hrss",
        "algorithm_rules": "samr",
        "platform_penalty": "samr",
        "fraud_loans": "police",
        "transport_operation": "transport",
        "traffic_violation": "police",
        "parking_access": "subdistrict",
        "community_access": "subdistrict",
        "housing": "housing",
        "legal_aid": "union",
        "psychological_support": "union",
        "other": "social_work",
    }


def test_giving_a_department_matter_to_streets_is_refused(rules_dir: Path) -> None:
    # As co-handler of the fraud rule, and as lead of a new rule covering a street matter
    # (parking_access: fine) and a police matter (traffic_violation: refused).
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "fraud")["co"].append({"department": "subdistrict"}),
    )
    add_rule(
        rules_dir,
        id="illegal_parking",
        priority=150,
        match={"categories": ["traffic_violation", "parking_access"], "keywords": ["违停"]},
        lead={"department": "subdistrict", "basis": "incident"},
        sla_plan="standard",
    )
    load_ruleset(rules_dir)  # loads: it routes, but check refuses it
    assert check_directory(rules_dir) == [
        "rules.yaml: rule 'illegal_parking': gives traffic_violation to 街道办事处 (subdistrict), "
        f"but the catalogue assigns it to police; {PUSH_DOWN}",
        "rules.yaml: rule 'fraud': gives fraud_loans to 街道办事处 (subdistrict), but the "
        f"catalogue assigns it to police; {PUSH_DOWN}",
    ]


def test_street_matters_and_categories_without_owner_may_go_to_streets(rules_dir: Path) -> None:
    # The sample's community_access rule gives street matters to streets: no problem.
    assert check_directory(rules_dir) == []
    # A category the catalogue leaves without owner is not checked.
    replace_text(
        rules_dir / "categories.yaml",
        "{code: fraud_loans, label: 涉新就业群体欺诈骗贷, owner: police}",
        "{code: fraud_loans, label: 涉新就业群体欺诈骗贷}",
    )
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "fraud")["co"].append({"department": "subdistrict"}),
    )
    assert check_directory(rules_dir) == []


def test_the_push_down_check_can_be_switched_off(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "fraud")["lead"].update(department="subdistrict"),
    )
    assert len(check_directory(rules_dir)) == 1
    replace_text(
        rules_dir / "deployment.yaml", "street_department: subdistrict", "street_department: null"
    )
    assert check_directory(rules_dir) == []


def test_unknown_owner_and_street_department_are_reference_problems(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "categories.yaml",
        "{code: fraud_loans, label: 涉新就业群体欺诈骗贷, owner: police}",
        "{code: fraud_loans, label: 涉新就业群体欺诈骗贷, owner: polic}",
    )
    replace_text(
        rules_dir / "deployment.yaml", "street_department: subdistrict", "street_department: street"
    )
    assert check_directory(rules_dir) == [
        "deployment.yaml: unknown street_department 'street'",
        "categories.yaml: category 'fraud_loans': unknown owner department 'polic'",
    ]


def test_synthesized_department_codes_are_reserved(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "departments.yaml",
        "  - {code: subdistrict, name: 街道办事处, short: 街道}\n",
        "  - {code: subdistrict, name: 街道办事处, short: 街道}\n"
        "  - {code: platform, name: 平台企业}\n",
    )
    assert check_directory(rules_dir) == [
        "departments.yaml: department 'platform': the code is reserved for platform liaison "
        "offices (platforms.yaml); choose another code"
    ]


def test_a_broken_calendar_is_a_problem(rules_dir: Path) -> None:
    (rules_dir / "calendar.yaml").write_text(
        "years:\n  2027:\n    holidays: [2027-02-30]\n", encoding="utf-8"
    )
    [problem] = check_directory(rules_dir)
    assert problem.startswith("calendar.yaml: ") and "2027" in problem
    assert str(rules_dir) not in problem


def test_a_missing_calendar_is_no_problem(rules_dir: Path) -> None:
    (rules_dir / "calendar.yaml").unlink()
    assert check_directory(rules_dir) == []
