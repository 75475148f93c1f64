from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

import pytest

import routing_rules
from routing_rules import (
    DEFAULT_RULES_DIR,
    RulesError,
    RuleSet,
    check_directory,
    check_ruleset,
    load_ruleset,
)
from tests.routing_rules.helpers import edit_yaml, plan_named, replace_text, rule_named


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_ruleset(directory)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_sample_loads_without_problems(ruleset: RuleSet) -> None:
    assert check_ruleset(ruleset) == []
    assert check_directory(DEFAULT_RULES_DIR) == []
    assert ruleset.deployment.name == "guangzhou"
    assert ruleset.deployment.root_region == "440100"
    assert ruleset.deployment.leadership_mailbox == "leadership@appeals.example"
    assert len(ruleset.departments) == 8
    assert len(ruleset.categories) == 16
    assert len(ruleset.rules) == 12
    assert list(ruleset.plans) == [
        "standard",
        "urgent",
        "labour_inspection",
        "samr_complaint",
        "labour_arbitration",
        "drill",
        "external_handoff",
        "platform_liaison",
    ]


def test_sample_is_package_data() -> None:
    shipped = importlib.resources.files(routing_rules) / "guangzhou" / "rules.yaml"
    assert shipped.is_file()
    assert DEFAULT_RULES_DIR == Path(routing_rules.__file__).parent / "guangzhou"


def test_version_is_a_stable_short_hash(ruleset: RuleSet, rules_dir: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", ruleset.version)
    assert load_ruleset(DEFAULT_RULES_DIR).version == ruleset.version
    assert load_ruleset(rules_dir).version == ruleset.version  # bytes, not the path
    replace_text(rules_dir / "rules.yaml", "label: 住房保障", "label: 住房保障 ")
    assert load_ruleset(rules_dir).version != ruleset.version


def test_files_outside_the_rules_do_not_change_the_version(
    ruleset: RuleSet, rules_dir: Path
) -> None:
    (rules_dir / "calendar.yaml").write_text("overrides: []\n", encoding="utf-8")
    assert load_ruleset(rules_dir).version == ruleset.version


def test_sla_plans_become_models_sla_plans(ruleset: RuleSet) -> None:
    standard = ruleset.plans["standard"]
    assert standard.label == "标准"
    assert [(c.name, c.label, c.period, c.stops_on) for c in standard.clocks] == [
        ("sign_for", "签收", "1wd", "accepted"),
        ("reply", "答复", "5wd", "completed"),
    ]
    urgent = ruleset.plans["urgent"]
    assert [(c.name, c.period) for c in urgent.clocks] == [("sign_for", "30m"), ("reply", "24h")]


def test_bad_yaml_names_file_and_line(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "rules.yaml",
        "    lead: {department: transport, basis: incident}\n",
        "    lead: {department: transport, basis: incident\n",
    )
    assert problems_of(rules_dir) == [
        "rules.yaml: line 107, column 13: YAML syntax error: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping at line 106)"
    ]


def test_a_key_written_twice_is_an_error(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "rules.yaml",
        "    lead: {department: housing, basis: residence}\n",
        "    lead: {department: housing, basis: residence}\n    sla_plan: urgent\n",
    )
    [problem] = problems_of(rules_dir)
    assert problem.startswith("rules.yaml: line ")
    assert problem.endswith("YAML syntax error: key 'sla_plan' appears twice in one mapping")


def test_unknown_department_in_a_rule(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "labour")["lead"].update(department="hrs"),
    )
    assert problems_of(rules_dir) == ["rules.yaml: rule 'labour': unknown department 'hrs'"]


def test_unknown_plan(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "housing").update(sla_plan="fast"),
    )
    assert problems_of(rules_dir) == [
        "rules.yaml: rule 'housing': unknown SLA plan 'fast' (known: drill, external_handoff, "
        "labour_arbitration, labour_inspection, platform_liaison, samr_complaint, standard, "
        "urgent)"
    ]


def test_duplicate_rule_ids(rules_dir: Path) -> None:
    def duplicate(data: Any) -> None:
        copy = dict(rule_named(data, "housing"), id="labour", priority=50)
        data["rules"].append(copy)

    edit_yaml(rules_dir / "rules.yaml", duplicate)
    assert problems_of(rules_dir) == [
        "rules.yaml: rule 'labour': duplicate id (entries #2 and #13); each rule id must be unique"
    ]


def test_all_problems_are_collected(rules_dir: Path) -> None:
    def break_rules(data: Any) -> None:
        rule_named(data, "labour")["lead"]["department"] = "hrs"
        rule_named(data, "labour")["co"] = [{"department": "unoin"}]
        rule_named(data, "fraud")["match"]["categories"] = ["fraud_loan"]
        rule_named(data, "housing")["sla_plan"] = "fast"
        rule_named(data, "union_services")["lead"]["basis"] = "hometown"

    edit_yaml(rules_dir / "rules.yaml", break_rules)
    edit_yaml(
        rules_dir / "sla_plans.yaml",
        lambda data: plan_named(data, "standard")["clocks"][1].update(period="5 wd"),
    )
    replace_text(
        rules_dir / "offices.yaml",
        "  - id: hrss.liwan\n    department: hrss",
        "  - id: hrss.liwan\n    department: hr",
    )
    assert problems_of(rules_dir) == [
        "sla_plans.yaml: plan 'standard': clocks[1].period: period '5 wd' is not <N><unit> "
        "with unit one of wd, d, h, wh, m",
        "rules.yaml: rule 'union_services': lead.basis: Input should be 'incident', "
        "'workplace', 'residence' or 'platform_domicile'",
        "offices.yaml: office 'hrss.liwan': unknown department 'hr'",
        "staff.yaml: staff 'hrss.liwan.sun': office 'hrss.liwan' is hr in 440103, "
        "but the staff member is hrss in 440103",
        "rules.yaml: rule 'labour': unknown department 'hrs'",
        "rules.yaml: rule 'labour': unknown department 'unoin'",
        "rules.yaml: rule 'fraud': unknown category 'fraud_loan'",
        "rules.yaml: rule 'housing': unknown SLA plan 'fast' (known: drill, external_handoff, "
        "labour_arbitration, labour_inspection, platform_liaison, samr_complaint, standard, "
        "urgent)",
    ]


def test_entry_problems_name_the_entry(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "staff.yaml",
        'role: handler, department: hrss, region: "440103", office: hrss.liwan}',
        'role: handler, department: hrss, region: "440103"}',
    )
    replace_text(
        rules_dir / "regions.yaml",
        '{code: "440113005", name: 市桥街道, level: street, parent: "440113"}',
        '{code: "440114001", name: 市桥街道, level: street, parent: "440113"}',
    )
    assert problems_of(rules_dir) == [
        "staff.yaml: staff 'hrss.liwan.sun': a handler must name the office they work in "
        "(office: <office id>)",
        "regions.yaml: region '440114001' (市桥街道): a street's code must extend its parent's "
        "code 440113",
        "offices.yaml: office 'subdistrict.shiqiao': region '440113005' is not in regions.yaml "
        "(offices serve this deployment's regions)",
        "staff.yaml: staff 'subdistrict.shiqiao.ge': region '440113005' is not in regions.yaml",
    ]


def test_missing_file(rules_dir: Path) -> None:
    (rules_dir / "offices.yaml").unlink()
    assert problems_of(rules_dir) == [f"offices.yaml: file is missing from {rules_dir}"]


def test_not_a_directory(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere'}: not a directory of routing rules"
    ]


def test_check_directory_returns_load_problems(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: rule_named(data, "labour")["lead"].update(department="hrs"),
    )
    assert check_directory(rules_dir) == ["rules.yaml: rule 'labour': unknown department 'hrs'"]
