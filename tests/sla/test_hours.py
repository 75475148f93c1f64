"""Office hours: defaults, parsing and validation."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from sla import OfficeHours


def test_default_is_two_windows_closing_at_1730() -> None:
    hours = OfficeHours()
    assert hours.windows == ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
    assert hours.opening() == time(9, 0)
    assert hours.close_of_day() == time(17, 30)
    # 3h (09:00-12:00) + 4h (13:30-17:30)
    assert hours.daily_total() == timedelta(hours=7)
    assert str(hours) == "09:00-12:00, 13:30-17:30"


def test_parse_from_yaml_list() -> None:
    assert OfficeHours.model_validate(["09:00-12:00", "13:30-17:30"]) == OfficeHours()
    assert OfficeHours.model_validate([" 8:30 ~ 12:00 "]).windows == ((time(8, 30), time(12)),)


def test_field_of_a_yaml_model_takes_the_list() -> None:
    class Deployment(BaseModel):
        office_hours: OfficeHours = OfficeHours()

    parsed = Deployment.model_validate({"office_hours": ["08:30-12:00", "14:00-18:00"]})
    assert parsed.office_hours.close_of_day() == time(18, 0)
    assert Deployment.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([], "at least one window"),
        (["12:00-09:00"], "end before they start"),
        (["09:00-09:00"], "end before they start"),
        (["09:00-12:00", "11:00-17:30"], "overlap"),
        (["13:30-17:30", "09:00-12:00"], "overlap or come before"),
        (["9am-5pm"], "not written like '09:00-12:00'"),
        (["25:00-26:00"], "does not exist"),
    ],
)
def test_bad_windows_are_rejected(windows: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OfficeHours.model_validate(windows)


def test_touching_windows_are_allowed() -> None:
    hours = OfficeHours.model_validate(["09:00-12:00", "12:00-13:00"])
    assert hours.daily_total() == timedelta(hours=4)
