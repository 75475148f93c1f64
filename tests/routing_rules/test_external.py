"""External hand-off: a jurisdiction outside the deployment goes to that region's
hotline (external_hotlines.yaml), matched by the longest code prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.routing import OfficeKey
from routing_rules import FILE_NAMES, RulesError, RuleSet, load_ruleset
from tests.routing_rules.helpers import edit_yaml, facts

HOTLINES = "external_hotlines.yaml"


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_ruleset(directory)
    return caught.value.problems


def add_hotlines(rules_dir: Path, *entries: dict[str, str], **top: Any) -> None:
    def change(data: Any) -> None:
        data["hotlines"].extend(entries)
        data.update(top)

    edit_yaml(rules_dir / HOTLINES, change)


def test_sample_hotlines(ruleset: RuleSet) -> None:
    assert HOTLINES in FILE_NAMES
    assert {p: (h.name, h.mailbox) for p, h in ruleset.hotlines.items()} == {
        "11": ("北京市12345政务服务便民热线", "12345.beijing@appeals.example"),
        "31": ("上海市12345市民服务热线", "12345.shanghai@appeals.example"),
        "4403": ("深圳市12345政务服务便民热线", "12345.shenzhen@appeals.example"),
    }
    assert ruleset.default_hotline is None


@pytest.mark.parametrize(
    ("platform", "office", "name", "mailbox"),
    [
        (
            "meituan",
            "hotline.110105",
            "北京市12345政务服务便民热线",
            "12345.beijing@appeals.example",
        ),
        ("didi", "hotline.110108", "北京市12345政务服务便民热线", "12345.beijing@appeals.example"),
        ("eleme", "hotline.310107", "上海市12345市民服务热线", "12345.shanghai@appeals.example"),
        (
            "huolala",
            "hotline.440305",
            "深圳市12345政务服务便民热线",
            "12345.shenzhen@appeals.example",
        ),
        (
            "sf_express",
            "hotline.440304",
            "深圳市12345政务服务便民热线",
            "12345.shenzhen@appeals.example",
        ),
    ],
)
def test_platforms_registered_elsewhere_are_handed_off(
    ruleset: RuleSet, platform: str, office: str, name: str, mailbox: str
) -> None:
    lead = ruleset.route(facts("algorithm_rules", platform=platform)).lead
    assert (lead.office.id, lead.office.name, lead.office.mailbox) == (office, name, mailbox)
    assert (lead.office.department, lead.office.region, lead.basis_region) == (
        "external_hotline",
        office.removeprefix("hotline."),
        office.removeprefix("hotline."),
    )
    assert (lead.external, lead.fallback_reason, lead.office.head_mailbox) == (True, None, None)
    assert lead.office.handlers == []


def test_longest_prefix_wins(rules_dir: Path) -> None:
    add_hotlines(
        rules_dir,
        {"prefix": "44", "name": "广东省12345热线（示例）", "mailbox": "12345.gd@appeals.example"},
        {
            "prefix": "1101",
            "name": "北京市辖区热线（示例）",
            "mailbox": "12345.bj1101@appeals.example",
        },
    )
    rules = load_ruleset(rules_dir)
    for region, prefix in [
        ("440305", "4403"),  # 4403 beats 44
        ("440604", "44"),  # 佛山: only 44
        ("110105", "1101"),  # 1101 beats 11
        ("130100", None),  # 石家庄: nothing matches, no default
    ]:
        found = rules.hotline_for(region)
        assert (found[1] if found else None) == (prefix and f"prefix {prefix}"), region
    decision = rules.route(facts("housing", residence="440604"))
    assert (decision.lead.office.id, decision.lead.office.name) == (
        "hotline.440604",
        "广东省12345热线（示例）",
    )
    assert (
        "  external hand-off to 广东省12345热线（示例） (12345.gd@appeals.example; "
        "external_hotlines.yaml prefix 44): region 440604 本部署以外地区 is outside this deployment"
    ) in decision.explanation


def test_no_matching_hotline_falls_back_to_social_work(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("housing", residence="440604"))
    lead = decision.lead
    assert (lead.office.id, lead.external, lead.basis_region) == (
        "social_work.city",
        True,
        "440604",
    )
    assert lead.fallback_reason == (
        "region 440604 本部署以外地区 is outside this deployment and external_hotlines.yaml "
        "has no hotline for it — routed to 社会工作部 at city level (中共广州市委社会工作部)"
    )


def test_the_default_hotline_takes_what_no_prefix_matches(rules_dir: Path) -> None:
    add_hotlines(
        rules_dir, default={"name": "全国12345转办（示例）", "mailbox": "12345.any@appeals.example"}
    )
    rules = load_ruleset(rules_dir)
    lead = rules.route(facts("housing", residence="440604")).lead
    assert (lead.office.id, lead.office.name, lead.office.mailbox, lead.fallback_reason) == (
        "hotline.440604",
        "全国12345转办（示例）",
        "12345.any@appeals.example",
        None,
    )
    # A prefix still wins over the default.
    assert rules.route(facts("housing", residence="310107")).lead.office.name == (
        "上海市12345市民服务热线"
    )


def test_a_hotline_that_returned_the_case_is_not_chosen_again(ruleset: RuleSet) -> None:
    decision = ruleset.route(
        facts("platform_penalty", platform="meituan"),
        exclude=[OfficeKey(department="external_hotline", region="110105")],
    )
    assert (decision.lead.office.id, decision.lead.external) == ("social_work.city", True)
    assert decision.lead.fallback_reason == (
        "region 110105 北京市朝阳区 is outside this deployment; its hotline "
        "北京市12345政务服务便民热线 has returned the case — routed to 社会工作部 at city level "
        "(中共广州市委社会工作部)"
    )


def test_an_external_co_handler_is_handed_off_too(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "rules.yaml",
        lambda data: next(r for r in data["rules"] if r["id"] == "housing").update(
            co=[{"department": "union", "basis": "workplace"}]
        ),
    )
    decision = load_ruleset(rules_dir).route(
        facts("housing", residence="440105", workplace="310107")
    )
    assert decision.lead.office.id == "housing.haizhu"
    assert [(c.role, c.office.id, c.external) for c in decision.co] == [
        ("co", "hotline.310107", True)
    ]


def test_the_file_is_optional_but_part_of_the_version(ruleset: RuleSet, rules_dir: Path) -> None:
    (rules_dir / HOTLINES).unlink()
    rules = load_ruleset(rules_dir)
    assert rules.hotlines == {} and rules.default_hotline is None
    assert rules.version != ruleset.version
    lead = rules.route(facts("platform_penalty", platform="meituan")).lead
    assert (lead.office.id, lead.external) == ("social_work.city", True)
    (rules_dir / HOTLINES).write_text("", encoding="utf-8")
    assert load_ruleset(rules_dir).hotlines == {}


def test_bad_hotline_entries(rules_dir: Path) -> None:
    add_hotlines(
        rules_dir,
        {"prefix": "1x", "name": "坏前缀", "mailbox": "bad@appeals.example"},
        {"prefix": "31", "name": "重复", "mailbox": "dup@appeals.example"},
        {"prefix": "440106", "name": "天河区", "mailbox": "th@appeals.example"},
        default={"name": "默认", "mailbox": "nowhere"},
        extra=1,
    )
    assert problems_of(rules_dir) == [
        "external_hotlines.yaml: unknown top-level key 'extra'; expected a mapping with "
        "'hotlines' (a list of {prefix, name, mailbox}) and optionally 'default' "
        "({name, mailbox})",
        "external_hotlines.yaml: default: mailbox: 'nowhere' is not an e-mail address",
        "external_hotlines.yaml: hotline '1x': prefix: String should match pattern '^\\d{2,9}$'",
        "external_hotlines.yaml: hotline '31': duplicate prefix (entries #2 and #5); each "
        "hotline prefix must be unique",
        "external_hotlines.yaml: hotline '440106' (天河区): the prefix is region 440106 天河区 "
        "of this deployment; hotlines serve regions outside it",
    ]


def test_a_hotlines_file_of_the_wrong_shape(rules_dir: Path) -> None:
    (rules_dir / HOTLINES).write_text("- {prefix: '11'}\n", encoding="utf-8")
    assert problems_of(rules_dir) == [
        "external_hotlines.yaml: expected a mapping with 'hotlines' (a list of {prefix, name, "
        "mailbox}) and optionally 'default' ({name, mailbox})"
    ]
