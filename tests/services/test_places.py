"""Intake's address fields: a proposal is used only once the clerk confirmed it; a
choice is refused with the candidates; the clerk's code wins (no Temporal needed: this
all happens before a case starts)."""

from __future__ import annotations

import pytest

from routing_rules import DEFAULT_RULES_DIR, RuleSet, load_ruleset
from services.errors import BadInput
from services.places import PlaceChoice, proposal, resolve_addresses


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


def test_a_confirmed_single_proposal_fills_the_code(ruleset: RuleSet) -> None:
    fields = resolve_addresses(
        {"workplace_address": "广州市黄埔区科学城开源大道11号", "confirm_address": True},
        ruleset,
    )
    assert fields == {"workplace": "440112"}  # the address itself is not kept


def test_an_unconfirmed_proposal_is_shown_not_taken(ruleset: RuleSet) -> None:
    with pytest.raises(PlaceChoice) as e:
        resolve_addresses({"incident_address": "增城区荔城街道府佑路"}, ruleset)
    assert e.value.message == (
        "incident address '增城区荔城街道府佑路': proposes 440118001 广东省广州市增城区荔城街道; "
        "confirm it (confirm_address) or give the incident code"
    )
    assert e.value.extra is not None and e.value.extra["reason"] is None
    assert e.value.extra["candidates"] == [
        {
            "code": "440118001",
            "name": "荔城街道",
            "full_name": "广东省广州市增城区荔城街道",
            "internal": True,
        }
    ]


def test_an_ambiguous_address_is_refused_with_the_candidates_even_if_confirmed(
    ruleset: RuleSet,
) -> None:
    with pytest.raises(PlaceChoice) as e:
        resolve_addresses(
            {"workplace_address": "白云区三元里大道", "confirm_address": True}, ruleset
        )
    assert e.value.status == 422 and "\n" not in e.value.message
    assert e.value.message.endswith(
        "several places have these names; choose one and give its code as workplace: "
        "440111 广东省广州市白云区, 520113 贵州省贵阳市白云区"
    )
    extra = e.value.extra or {}
    assert [(c["code"], c["internal"]) for c in extra["candidates"]] == [  # type: ignore[attr-defined]
        ("440111", True),
        ("520113", False),
    ]


def test_our_own_places_come_first(ruleset: RuleSet) -> None:
    found = proposal("沙河街道", ruleset)
    assert found["proposed"] is None
    assert found["candidates"][0]["code"] == "440106004"  # 广州市天河区沙河街道
    assert not any(c["internal"] for c in found["candidates"][1:])


def test_the_clerks_code_wins_and_blank_addresses_are_ignored(ruleset: RuleSet) -> None:
    fields = resolve_addresses(
        {"workplace": "440106", "workplace_address": "白云区三元里大道", "incident_address": " "},
        ruleset,
    )
    assert fields == {"workplace": "440106"}


def test_an_overlong_address_is_one_line(ruleset: RuleSet) -> None:
    with pytest.raises(BadInput, match="workplace_address is longer than 200 characters"):
        resolve_addresses({"workplace_address": "广州" * 101}, ruleset)
