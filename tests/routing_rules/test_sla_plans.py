"""The sample SLA plans as loaded, and what sla_plans.yaml refuses.

Expected values are written out from routing_rules/guangzhou/sla_plans.yaml (and its
header comment for the defaults), never taken from the code under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.sla import ClockSpec
from routing_rules import RulesError, RuleSet, load_ruleset
from tests.routing_rules.helpers import edit_yaml, plan_named

DEFAULT_LADDER = [
    (1, "0m", ["head"]),
    (2, "1wd", ["city_department", "supervision"]),
    (3, "3wd", ["leadership"]),
]


def clock(ruleset: RuleSet, plan: str, name: str) -> ClockSpec:
    [found] = [c for c in ruleset.plans[plan].clocks if c.name == name]
    return found


def ladder(spec: ClockSpec) -> list[tuple[int, str, list[str]]]:
    return [(r.rung, r.after, r.to) for r in spec.ladder]


def limits(spec: ClockSpec) -> tuple[bool, str | None, str | None, int | None]:
    return (spec.pausable, spec.max_pause, spec.max_extension, spec.max_extensions)


def problems_after(rules_dir: Path, plan: str, change: Any) -> list[str]:
    """Edit one plan of the copy's sla_plans.yaml, load it, return the problems."""
    edit_yaml(rules_dir / "sla_plans.yaml", lambda data: change(plan_named(data, plan)))
    with pytest.raises(RulesError) as caught:
        load_ruleset(rules_dir)
    return caught.value.problems


def test_plan_labels_and_clocks(ruleset: RuleSet) -> None:
    summary = {
        name: (plan.label, [(c.name, c.label, c.period) for c in plan.clocks])
        for name, plan in ruleset.plans.items()
    }
    assert summary == {
        "standard": ("标准", [("sign_for", "签收", "1wd"), ("reply", "答复", "5wd")]),
        "urgent": ("紧急", [("sign_for", "签收", "30m"), ("reply", "答复", "24h")]),
        "labour_inspection": (
            "劳动保障监察",
            [
                ("sign_for", "签收", "1wd"),
                ("reply", "答复", "5wd"),
                ("statutory", "监察办结", "60wd"),
            ],
        ),
        "samr_complaint": (
            "市场监管投诉受理",
            [
                ("sign_for", "签收", "1wd"),
                ("reply", "答复", "5wd"),
                ("statutory", "投诉受理", "7wd"),
            ],
        ),
        "labour_arbitration": (
            "劳动仲裁",
            [
                ("sign_for", "签收", "1wd"),
                ("reply", "答复", "5wd"),
                ("acceptance", "仲裁受理", "5d"),
                ("statutory", "仲裁裁决", "45d"),
            ],
        ),
        "drill": ("演练", [("sign_for", "签收", "1m"), ("reply", "答复", "3m")]),
        "external_handoff": ("跨地域转办", [("reply", "答复", "5wd")]),
        "platform_liaison": ("平台联络", [("reply", "答复", "3wd")]),
    }


def test_a_clock_left_to_the_defaults(ruleset: RuleSet) -> None:
    sign_for = clock(ruleset, "standard", "sign_for")
    assert (sign_for.starts_on, sign_for.stops_on, sign_for.roles) == (
        "dispatched",
        "accepted",
        ["lead", "co"],
    )
    assert sign_for.warnings == [0.5, 0.75]
    assert ladder(sign_for) == DEFAULT_LADDER
    assert limits(sign_for) == (False, None, None, None)


def test_standard_reply_is_pausable_and_extendable(ruleset: RuleSet) -> None:
    reply = clock(ruleset, "standard", "reply")
    assert (reply.starts_on, reply.stops_on, reply.roles) == (
        "dispatched",
        "completed",
        ["lead", "co"],
    )
    assert limits(reply) == (True, "10wd", "10wd", None)
    assert ladder(reply) == DEFAULT_LADDER


def test_urgent_plan_has_its_own_ladders(ruleset: RuleSet) -> None:
    sign_for = clock(ruleset, "urgent", "sign_for")
    assert ladder(sign_for) == [
        (1, "0m", ["head"]),
        (2, "2h", ["city_department", "supervision"]),
        (3, "4h", ["leadership"]),
    ]
    assert limits(sign_for) == (False, None, None, None)
    reply = clock(ruleset, "urgent", "reply")
    assert ladder(reply) == [
        (1, "0m", ["head"]),
        (2, "4h", ["city_department", "supervision"]),
        (3, "1wd", ["leadership"]),
    ]
    assert limits(reply) == (True, "2wd", "24h", None)


def test_labour_inspection_statutory_clock(ruleset: RuleSet) -> None:
    statutory = clock(ruleset, "labour_inspection", "statutory")
    assert statutory.label == "监察办结"
    assert statutory.roles == ["lead"]
    assert (statutory.starts_on, statutory.stops_on) == ("accepted", "completed")
    assert statutory.period == "60wd"
    assert statutory.max_extension == "30wd"
    assert statutory.max_extensions == 1
    assert limits(statutory) == (True, "30wd", "30wd", 1)
    assert statutory.warnings == [0.5, 0.75]
    assert ladder(statutory) == DEFAULT_LADDER
    # The plan's other clocks run on every task, from dispatch.
    assert [(c.name, c.roles, c.starts_on) for c in ruleset.plans["labour_inspection"].clocks] == [
        ("sign_for", ["lead", "co"], "dispatched"),
        ("reply", ["lead", "co"], "dispatched"),
        ("statutory", ["lead"], "accepted"),
    ]


def test_samr_complaint_statutory_clock(ruleset: RuleSet) -> None:
    statutory = clock(ruleset, "samr_complaint", "statutory")
    assert (statutory.period, statutory.starts_on, statutory.stops_on, statutory.roles) == (
        "7wd",
        "dispatched",
        "completed",
        ["lead"],
    )
    assert limits(statutory) == (False, None, None, None)


def test_labour_arbitration_clocks(ruleset: RuleSet) -> None:
    acceptance = clock(ruleset, "labour_arbitration", "acceptance")
    assert (acceptance.period, acceptance.starts_on, acceptance.stops_on, acceptance.roles) == (
        "5d",
        "dispatched",
        "accepted",
        ["lead"],
    )
    assert limits(acceptance) == (False, None, None, None)
    statutory = clock(ruleset, "labour_arbitration", "statutory")
    assert (statutory.period, statutory.starts_on, statutory.stops_on, statutory.roles) == (
        "45d",
        "accepted",
        "completed",
        ["lead"],
    )
    assert limits(statutory) == (False, None, "15d", 1)


def test_drill_plan_runs_in_minutes(ruleset: RuleSet) -> None:
    sign_for = clock(ruleset, "drill", "sign_for")
    reply = clock(ruleset, "drill", "reply")
    assert (sign_for.period, reply.period) == ("1m", "3m")
    assert limits(sign_for) == (False, None, None, None)
    assert limits(reply) == (True, "5m", "10m", None)
    # Rung 1 at the breach, then one minute between rungs.
    for spec in (sign_for, reply):
        assert ladder(spec) == [
            (1, "0m", ["head"]),
            (2, "1m", ["city_department", "supervision"]),
            (3, "1m", ["leadership"]),
        ]


def test_a_pausable_clock_needs_max_pause(rules_dir: Path) -> None:
    problems = problems_after(
        rules_dir, "standard", lambda plan: plan["clocks"][1].pop("max_pause")
    )
    # One problem, though several rules use the standard plan.
    assert problems == [
        "sla_plans.yaml: plan 'standard': clocks[1]: a pausable clock needs max_pause, "
        "so a case cannot be parked forever"
    ]


def test_max_pause_is_not_needed_when_not_pausable(rules_dir: Path) -> None:
    def unpausable(plan: dict[str, Any]) -> None:
        plan["clocks"][1].pop("max_pause")
        plan["clocks"][1]["pausable"] = False

    edit_yaml(rules_dir / "sla_plans.yaml", lambda data: unpausable(plan_named(data, "standard")))
    reply = clock(load_ruleset(rules_dir), "standard", "reply")
    assert limits(reply) == (False, None, "10wd", None)


@pytest.mark.parametrize(
    "warnings",
    [[0, 0.5], [0.5, 1], [0.5, 1.5], [-0.25, 0.75]],
    ids=["zero", "one", "above-one", "negative"],
)
def test_warnings_must_lie_strictly_between_0_and_1(rules_dir: Path, warnings: list[float]) -> None:
    problems = problems_after(
        rules_dir, "labour_inspection", lambda plan: plan["clocks"][2].update(warnings=warnings)
    )
    assert problems == [
        "sla_plans.yaml: plan 'labour_inspection': clocks[2]: warnings are fractions strictly "
        "between 0 and 1, e.g. [0.5, 0.75]"
    ]


def test_warnings_inside_0_and_1_are_kept(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "sla_plans.yaml",
        lambda data: plan_named(data, "standard")["clocks"][0].update(warnings=[0.25, 0.9]),
    )
    assert clock(load_ruleset(rules_dir), "standard", "sign_for").warnings == [0.25, 0.9]


@pytest.mark.parametrize(
    "rungs",
    [[2, 3, 4], [1, 3, 4], [1, 1, 2], [3, 2, 1], [2]],
    ids=["starts-at-2", "gap", "repeated", "reversed", "only-rung-2"],
)
def test_ladder_rungs_must_be_numbered_1_to_n(rules_dir: Path, rungs: list[int]) -> None:
    def renumber(plan: dict[str, Any]) -> None:
        plan["clocks"][0]["ladder"] = [{"rung": n, "after": "1h", "to": ["head"]} for n in rungs]

    assert problems_after(rules_dir, "urgent", renumber) == [
        "sla_plans.yaml: plan 'urgent': clocks[0]: ladder rungs must be numbered 1, 2, 3 … in order"
    ]


def test_a_shorter_ladder_numbered_from_1_is_accepted(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "sla_plans.yaml",
        lambda data: plan_named(data, "urgent")["clocks"][0].update(
            ladder=[{"rung": 1, "to": ["head"]}, {"rung": 2, "after": "1h", "to": ["leadership"]}]
        ),
    )
    sign_for = clock(load_ruleset(rules_dir), "urgent", "sign_for")
    assert ladder(sign_for) == [(1, "0m", ["head"]), (2, "1h", ["leadership"])]


def test_a_bad_leadership_mailbox_is_refused(rules_dir: Path) -> None:
    edit_yaml(rules_dir / "deployment.yaml", lambda data: data.update(leadership_mailbox="city"))
    with pytest.raises(RulesError) as caught:
        load_ruleset(rules_dir)
    assert caught.value.problems == [
        "deployment.yaml: leadership_mailbox: 'city' is not an e-mail address"
    ]


# -- returns, review, external hand-off and platform liaison --------------------------


def test_return_window_and_review_default_to_2wd_and_1wd(ruleset: RuleSet) -> None:
    assert {name: (p.return_window, p.review) for name, p in ruleset.plans.items()} == {
        "standard": ("2wd", "1wd"),
        "urgent": ("2wd", "1wd"),
        "labour_inspection": ("2wd", "1wd"),
        "samr_complaint": ("2wd", "1wd"),
        "labour_arbitration": ("2wd", "1wd"),
        "drill": ("2wd", "1wd"),
        "external_handoff": ("2wd", "1wd"),
        "platform_liaison": ("2wd", "1wd"),
    }


def test_return_window_and_review_can_be_set(rules_dir: Path) -> None:
    edit_yaml(
        rules_dir / "sla_plans.yaml",
        lambda data: plan_named(data, "drill").update(return_window="5m", review="10m"),
    )
    drill = load_ruleset(rules_dir).plans["drill"]
    assert (drill.return_window, drill.review) == ("5m", "10m")


def test_a_bad_return_window_is_refused(rules_dir: Path) -> None:
    problems = problems_after(rules_dir, "standard", lambda plan: plan.update(return_window="2 wd"))
    assert problems == [
        "sla_plans.yaml: plan 'standard': return_window: period '2 wd' is not <N><unit> with "
        "unit one of wd, d, h, wh, m"
    ]


def test_external_handoff_plan(ruleset: RuleSet) -> None:
    plan = ruleset.plans["external_handoff"]
    assert plan.label == "跨地域转办"
    [reply] = plan.clocks
    assert (reply.name, reply.label, reply.period, reply.starts_on, reply.stops_on) == (
        "reply",
        "答复",
        "5wd",
        "dispatched",
        "completed",
    )
    assert reply.roles == ["lead", "co"]
    assert limits(reply) == (False, None, None, None)
    # No answer in time: 社会工作部 (督办), then city leadership.
    assert ladder(reply) == [(1, "0m", ["supervision"]), (2, "2wd", ["leadership"])]


def test_platform_liaison_plan(ruleset: RuleSet) -> None:
    plan = ruleset.plans["platform_liaison"]
    assert plan.label == "平台联络"
    [reply] = plan.clocks
    assert (reply.name, reply.label, reply.period, reply.starts_on, reply.stops_on) == (
        "reply",
        "答复",
        "3wd",
        "dispatched",
        "completed",
    )
    assert reply.roles == ["lead", "co", "liaison"]
    assert limits(reply) == (False, None, None, None)
    # A platform that does not answer escalates to the lead office, never to the worker.
    assert ladder(reply) == [
        (1, "0m", ["lead_office"]),
        (2, "2wd", ["city_department", "supervision"]),
    ]


def test_an_unknown_ladder_recipient_is_refused(rules_dir: Path) -> None:
    def to_worker(plan: dict[str, Any]) -> None:
        plan["clocks"][0]["ladder"][0]["to"] = ["worker"]

    [problem] = problems_after(rules_dir, "platform_liaison", to_worker)
    assert problem == (
        "sla_plans.yaml: plan 'platform_liaison': clocks[0].ladder[0].to[0]: Input should be "
        "'head', 'office', 'city_department', 'supervision', 'leadership' or 'lead_office'"
    )
