"""Intake validation and masking of personal data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.case import case_id_for
from models.intake import IntakeForm, id_number_is_valid, mask_id, mask_name, mask_phone

BASE = {
    "name": "王小明",
    "phone": "13800138001",
    "occupation": "rider",
    "category": "wage_arrears",
    "summary": "拖欠工资两个月",
    "residence": "440111",
    "workplace": "440106",
    "request_id": "r-1",
}


def test_a_complete_intake_is_accepted() -> None:
    form = IntakeForm.model_validate(
        {**BASE, "id_number": "11010519491231002x", "incident": "440106013", "channel": "walk_in"}
    )
    assert form.id_number == "11010519491231002X"  # normalised to the upper-case check
    assert form.channel.value == "walk_in" and form.urgent is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "phone must be"),
        ("id_number", "110105194912310021", "check digit"),
        ("occupation", "pilot", "occupation"),
        ("residence", "4401", "region code"),
        ("summary", "欠", "at least 4"),
        ("channel", "fax", "channel"),
    ],
)
def test_bad_intake_is_refused_with_the_field_named(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        IntakeForm.model_validate({**BASE, field: value})
    assert field in str(info.value) and message in str(info.value)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        IntakeForm.model_validate({**BASE, "nmae": "typo"})


def test_masks_hide_personal_data() -> None:
    assert mask_name("王小明") == "王**"
    assert mask_phone("13800138001") == "138****8001"
    assert mask_id("11010519491231002X") == "110105********002X"
    assert id_number_is_valid("11010519491231002X")


def test_case_id_is_a_function_of_the_request_id() -> None:
    assert case_id_for("r-1") == case_id_for("r-1")
    assert case_id_for("r-1") != case_id_for("r-2")
    assert case_id_for("r-1").startswith("AP-") and len(case_id_for("r-1")) == 13
