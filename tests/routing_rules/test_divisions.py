"""The national table of divisions: known, unknown (with the nearest names), outside the
deployment; intake refuses a code that exists nowhere; `rules check` refuses one too."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.intake import IntakeForm
from routing_rules import RuleSet, check_directory
from routing_rules.divisions import national
from services.cases import check_against_directory
from services.errors import BadInput


def form(**places: str) -> IntakeForm:
    fields = {
        "name": "王小明",
        "phone": "13800138001",
        "occupation": "rider",
        "category": "wage_arrears",
        "summary": "配送站拖欠两个月工资",
        "residence": "440106",
        "workplace": "440106",
        "request_id": "r-1",
    }
    return IntakeForm.model_validate(fields | places)


def test_known_codes_and_their_full_names() -> None:
    table = national()
    assert table.full_name("440112") == "广东省广州市黄埔区"
    assert table.full_name("440118") == "广东省广州市增城区"
    assert table.full_name("440111010") == "广东省广州市白云区京溪街道"
    assert table.full_name("110105") == "北京市朝阳区"  # a municipality has no city level
    assert "440305" in table and "440199" not in table and "999999" not in table


def test_an_unknown_code_gives_the_nearest_real_names() -> None:
    line = national().unknown("440199", what="workplace region")
    assert line.startswith("workplace region 440199 is not a current GB/T 2260 division")
    assert "nearest: 440118 广东省广州市增城区, 440117 广东省广州市从化区" in line
    assert "\n" not in line
    street = national().unknown("440111099", what="incident region")
    assert "440111021 广东省广州市白云区大源街道" in street  # same district's streets


@pytest.mark.parametrize("code", ["999999", "440199", "440111099"])
def test_intake_refuses_a_code_that_exists_nowhere(ruleset: RuleSet, code: str) -> None:
    with pytest.raises(BadInput) as e:
        check_against_directory(form(workplace=code), ruleset)
    assert e.value.message.startswith(f"workplace region {code} is not a current GB/T 2260")
    assert "nearest:" in e.value.message


def test_a_real_place_outside_the_deployment_is_accepted_as_external(ruleset: RuleSet) -> None:
    check_against_directory(form(residence="440305", workplace="110105"), ruleset)
    assert not ruleset.is_internal("440305") and not ruleset.is_internal("110105")


def test_a_real_street_the_directory_does_not_list_goes_through_its_district(
    ruleset: RuleSet,
) -> None:
    check_against_directory(form(incident="440112002"), ruleset)  # 黄埔区红山街道
    assert [r.code for r in ruleset.region_chain("440112002")] == ["440112", "440100"]


def test_the_sample_directory_names_only_real_divisions(ruleset: RuleSet) -> None:
    table = national()
    for region in ruleset.regions.values():
        found = table.get(region.code)
        assert found is not None and found.name == region.name, region


def test_rules_check_refuses_made_up_and_misnamed_codes(rules_dir: Path) -> None:
    regions = rules_dir / "regions.yaml"
    text = regions.read_text(encoding="utf-8")
    text = text.replace('{code: "440111010", name: 京溪街道', '{code: "440111006", name: 京溪街道')
    text += '  - {code: "440118999", name: 虚构街道, level: street, parent: "440118"}\n'
    regions.write_text(text, encoding="utf-8")
    offices = rules_dir / "offices.yaml"
    offices.write_text(
        offices.read_text(encoding="utf-8").replace('"440111010"', '"440111006"'),
        encoding="utf-8",
    )
    staff = rules_dir / "staff.yaml"
    staff.write_text(
        staff.read_text(encoding="utf-8").replace('"440111010"', '"440111006"'),
        encoding="utf-8",
    )
    problems = check_directory(rules_dir)
    assert (
        "regions.yaml: region '440111006' (京溪街道): the national table names 440111006 "
        "黄石街道, not 京溪街道" in problems
    )
    assert any(
        p.startswith("regions.yaml: region '440118999' (虚构街道): code 440118999 is not a current")
        for p in problems
    )
