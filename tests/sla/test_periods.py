"""Parsing and printing periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from sla import Period, PeriodStr, Unit


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("5wd", 5, Unit.wd),
        ("3d", 3, Unit.d),
        ("48h", 48, Unit.h),
        ("10wh", 10, Unit.wh),
        ("90m", 90, Unit.m),
        ("  7wd \n", 7, Unit.wd),
        ("05d", 5, Unit.d),
    ],
)
def test_parse(text: str, value: int, unit: Unit) -> None:
    assert Period.parse(text) == Period(value=value, unit=unit)


@pytest.mark.parametrize("text", ["5wd", "3d", "48h", "10wh", "90m"])
def test_str_gives_back_the_text(text: str) -> None:
    assert str(Period.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["5x", "", "  ", "wd", "5", "-1d", "5 wd", "5.5h", "5WD", "５wd", "5wdd", "+3d"]
)
def test_garbage_is_rejected_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Period.parse(text)
    message = str(caught.value)
    assert message == f"period {text!r} is not <N><unit> with unit one of wd, d, h, wh, m"
    assert "\n" not in message


@pytest.mark.parametrize("text", ["0wd", "000h", "100001d"])
def test_out_of_range_counts_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"must count between 1 and 100000 units"):
        Period.parse(text)


def test_constructor_rejects_zero() -> None:
    with pytest.raises(ValidationError):
        Period(value=0, unit=Unit.wd)


def test_model_field_accepts_text() -> None:
    class Plan(BaseModel):
        reply: Period
        sign_for: PeriodStr

    plan = Plan.model_validate({"reply": "15wd", "sign_for": " 1wd "})
    assert plan.reply == Period(value=15, unit=Unit.wd)
    # PeriodStr keeps text, normalised.
    assert plan.sign_for == "1wd"
    with pytest.raises(ValidationError, match="period '5x' is not <N><unit>"):
        Plan.model_validate({"reply": "5wd", "sign_for": "5x"})
    with pytest.raises(ValidationError, match="period '0d' must count"):
        Plan.model_validate({"reply": "0d", "sign_for": "1wd"})


def test_labels_and_exact_lengths() -> None:
    assert Period.parse("5wd").label == "5个工作日"
    assert Period.parse("48h").label == "48小时"
    assert Period.parse("2wh").exact() == timedelta(hours=2)
    assert Period.parse("90m").exact() == timedelta(minutes=90)
    with pytest.raises(ValueError, match="depends on the calendar"):
        Period.parse("3d").exact()


def test_round_trips_through_json() -> None:
    period = Period.parse("5wd")
    assert Period.model_validate_json(period.model_dump_json()) == period
