"""Platform liaison (政企协同): a rule with platform_liaison adds a task for the platform
the case names, answered by that platform's liaison staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing_rules import RulesError, RuleSet, check_directory, load_ruleset
from tests.routing_rules.helpers import facts, replace_text

LIAISONS = {
    "meituan": "meituan.liaison.wu",
    "eleme": "eleme.liaison.zheng",
    "didi": "didi.liaison.luo",
    "huolala": "huolala.liaison.gao",
    "sf_express": "sf_express.liaison.lin",
    "yangcheng_run": "yangcheng_run.liaison.tang",
}


def test_one_liaison_per_platform(ruleset: RuleSet) -> None:
    for code, staff_id in LIAISONS.items():
        member = ruleset.staff_member(staff_id)
        assert member is not None
        assert (member.role, member.platform) == ("liaison", code)
        assert ruleset.liaisons_of(code) == [staff_id]
    # The government-side liaison names no platform and answers for none.
    he = ruleset.staff_member("liaison.he")
    assert he is not None and he.platform is None
    rule = ruleset.rule("platform_conduct")
    assert rule is not None and rule.platform_liaison is True
    assert [r.id for r in ruleset.rules if r.platform_liaison] == ["platform_conduct"]


def test_liaison_assignment_for_a_platform_registered_in_guangzhou(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("platform_penalty", platform="yangcheng_run"))
    liaison = decision.liaison
    assert liaison is not None
    assert (liaison.role, liaison.basis, liaison.basis_region, liaison.external) == (
        "liaison",
        "platform_domicile",
        "440106",
        False,
    )
    assert liaison.fallback_reason is None
    assert liaison.office.model_dump() == {
        "id": "platform.yangcheng_run",
        "department": "platform",
        "region": "440106",
        "name": "羊城跑腿（虚构示例）（平台联络）",
        "mailbox": "liaison@yangcheng-run.example",
        "head_mailbox": None,
        "handlers": ["yangcheng_run.liaison.tang"],
        "office_hours": [],
    }
    assert decision.explanation[-2:] == [
        "平台联络 liaison yangcheng_run 羊城跑腿（虚构示例）: registered in 440106 天河区",
        "  → 羊城跑腿（虚构示例）（平台联络） (platform.yangcheng_run, "
        "liaison@yangcheng-run.example; liaisons: yangcheng_run.liaison.tang)",
    ]


def test_liaison_for_a_platform_registered_elsewhere_is_not_external(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("algorithm_rules", platform="didi"))
    assert decision.lead.external  # 市场监管's part goes to Beijing's hotline
    liaison = decision.liaison
    assert liaison is not None
    assert (liaison.office.id, liaison.office.name, liaison.office.mailbox) == (
        "platform.didi",
        "滴滴出行（平台联络）",
        "liaison@didi.example",
    )
    assert (liaison.office.region, liaison.basis_region, liaison.external) == (
        "110108",
        "110108",
        False,
    )
    assert liaison.office.handlers == ["didi.liaison.luo"]


@pytest.mark.parametrize(
    ("platform", "line"),
    [
        (None, "平台联络 liaison: the case names no platform; no liaison task"),
        (
            "shansong",
            "平台联络 liaison: platform 'shansong' is not in platforms.yaml; no liaison task",
        ),
    ],
)
def test_no_liaison_without_a_known_platform(
    ruleset: RuleSet, platform: str | None, line: str
) -> None:
    decision = ruleset.route(facts("algorithm_rules", platform=platform))
    assert decision.liaison is None
    assert decision.explanation[-1] == line


def test_no_liaison_when_the_rule_does_not_ask(ruleset: RuleSet) -> None:
    decision = ruleset.route(facts("wage_arrears", platform="meituan"))
    assert decision.liaison is None
    assert not any("liaison" in line for line in decision.explanation)


def test_a_platform_without_liaison_staff(rules_dir: Path) -> None:
    replace_text(
        rules_dir / "staff.yaml",
        "  - {id: didi.liaison.luo, name: 罗佳, role: liaison, department: social_work, "
        'region: "440100", platform: didi}\n',
        "",
    )
    assert check_directory(rules_dir) == [
        "platforms.yaml: platform 'didi': no liaison in staff.yaml names it (role: liaison, "
        "platform: didi); its liaison tasks would have nobody to answer"
    ]
    decision = load_ruleset(rules_dir).route(facts("platform_penalty", platform="didi"))
    assert decision.liaison is not None and decision.liaison.office.handlers == []
    assert decision.explanation[-1] == (
        "  → 滴滴出行（平台联络） (platform.didi, liaison@didi.example; "
        "liaisons: none in staff.yaml)"
    )


def test_staff_platform_must_be_known_and_only_for_liaisons(rules_dir: Path) -> None:
    replace_text(rules_dir / "staff.yaml", "platform: meituan}", "platform: meituan_x}")
    replace_text(
        rules_dir / "staff.yaml",
        'role: clerk, department: social_work, region: "440106"}',
        'role: clerk, department: social_work, region: "440106", platform: eleme}',
    )
    with pytest.raises(RulesError) as caught:
        load_ruleset(rules_dir)
    assert caught.value.problems == [
        "staff.yaml: staff 'clerk.huang': only a liaison names a platform (this member's role "
        "is clerk)",
        "staff.yaml: staff 'meituan.liaison.wu': unknown platform 'meituan_x'",
    ]
