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
