"""Which days are worked: weekends, 调休, the fallback for unknown years, overrides.

Facts about 2025 and 2026 come from the State Council notices (国务院办公厅关于2025年/
2026年部分节假日安排的通知), which chinese_calendar 1.11.0 encodes.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from sla import CalendarFileError, CalendarOverrides, WorkCalendar, YearOverrides, load_overrides

REPO = Path(__file__).resolve().parents[2]


def test_ordinary_weekend_and_weekdays(calendar: WorkCalendar) -> None:
    # March 2025 has no holidays: Sat 8th and Sun 9th rest, Fri 7th and Mon 10th work.
    assert not calendar.is_workday(date(2025, 3, 8))
    assert not calendar.is_workday(date(2025, 3, 9))
    assert calendar.is_workday(date(2025, 3, 7))
    assert calendar.is_workday(date(2025, 3, 10))


def test_national_day_2025_with_make_up_workdays(calendar: WorkCalendar) -> None:
    # 国庆节、中秋节: 10月1日至8日放假调休，共8天；9月28日（周日）、10月11日（周六）上班。
    assert calendar.is_workday(date(2025, 9, 28))  # Sunday, make-up workday
    assert calendar.is_workday(date(2025, 10, 11))  # Saturday, make-up workday
    for day in range(1, 9):
        assert not calendar.is_workday(date(2025, 10, day))
    assert calendar.is_workday(date(2025, 10, 9))  # Thursday after the break
    assert not calendar.is_workday(date(2025, 10, 12))  # ordinary Sunday


def test_spring_festival_2026(calendar: WorkCalendar) -> None:
    # 春节: 2月15日（腊月二十八）至23日放假调休，共9天；2月14日（周六）、2月28日（周六）上班。
    assert calendar.is_workday(date(2026, 2, 14))
    assert calendar.is_workday(date(2026, 2, 28))
    for day in range(15, 24):
        assert not calendar.is_workday(date(2026, 2, day))
    assert calendar.is_workday(date(2026, 2, 24))  # Tuesday, first day back


def test_next_workday_jumps_the_break(calendar: WorkCalendar) -> None:
    # After Fri 2026-02-13 comes the make-up Saturday 14th; after that, the break
    # (15th-23rd) is skipped to Tue 24th.
    assert calendar.next_workday(date(2026, 2, 13)) == date(2026, 2, 14)
    assert calendar.next_workday(date(2026, 2, 14)) == date(2026, 2, 24)
    # The 1st working day after the 14th is the 24th, the 2nd is Wed 25th.
    assert calendar.nth_workday_after(date(2026, 2, 14), 2) == date(2026, 2, 25)


def test_unknown_year_falls_back_and_warns_once(
    calendar: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sla.calendar")
    # chinese_calendar 1.11.0 stops at 2026. 元旦 (Jan 1) is statutory, so the fallback
    # rests on Fri 2027-01-01; Sat 2nd is a weekend; Mon 4th is an ordinary weekday.
    assert not calendar.is_workday(date(2027, 1, 1))
    assert not calendar.is_workday(date(2027, 1, 2))
    assert calendar.is_workday(date(2027, 1, 4))
    # 国庆节 Oct 1-3 are statutory; Fri 2027-10-01 rests.
    assert not calendar.is_workday(date(2027, 10, 1))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()
    assert "make-up workdays" in warnings[0].getMessage()


def test_any_year_answers_without_raising(calendar: WorkCalendar) -> None:
    # Outside every source only weekends remain: 0001-01-01 was a Monday and
    # 9999-12-31 a Friday (proleptic Gregorian), so both are worked.
    assert calendar.is_workday(date(1, 1, 1))
    assert calendar.is_workday(date(9999, 12, 31))
    assert not calendar.is_workday(date(2003, 10, 1))  # National Day, from the fallback


def test_datetime_is_refused(calendar: WorkCalendar) -> None:
    from datetime import datetime

    with pytest.raises(TypeError):
        calendar.is_workday(datetime(2025, 3, 10, 9))


def test_overrides_win_over_both_sources(caplog: pytest.LogCaptureFixture) -> None:
    overrides = CalendarOverrides(
        years={
            # chinese_calendar says Wed 2025-10-08 rests and Sun 2025-09-28 works.
            2025: YearOverrides(holidays=(date(2025, 9, 28),), workdays=(date(2025, 10, 8),)),
            # The fallback says Fri 2027-01-01 rests.
            2027: YearOverrides(workdays=(date(2027, 1, 1),)),
        }
    )
    calendar = WorkCalendar(overrides)
    assert not calendar.is_workday(date(2025, 9, 28))
    assert calendar.is_workday(date(2025, 10, 8))
    assert calendar.is_workday(date(2027, 1, 1))
    # Days not listed still come from the sources.
    assert not calendar.is_workday(date(2025, 10, 7))
    assert not calendar.is_workday(date(2027, 10, 1))


def test_complete_year_replaces_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sla.calendar")
    calendar = WorkCalendar(
        CalendarOverrides(years={2027: YearOverrides(complete=True, holidays=(date(2027, 1, 1),))})
    )
    assert not calendar.is_workday(date(2027, 1, 1))
    # The holidays package guesses 补假 on Tue 2027-02-09; a complete schedule that
    # does not list it makes it an ordinary Tuesday.
    assert calendar.is_workday(date(2027, 2, 9))
    assert not calendar.is_workday(date(2027, 2, 6))  # Saturday
    assert caplog.records == []


def test_load_overrides_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "years:\n"
        "  2027:\n"
        "    complete: true\n"
        "    holidays: [2027-01-01, '2027-02-05']\n"
        "    workdays:\n",
        encoding="utf-8",
    )
    loaded = load_overrides(path)
    assert loaded.years[2027].holidays == (date(2027, 1, 1), date(2027, 2, 5))
    assert loaded.years[2027].workdays == ()
    assert loaded.years[2027].complete


def test_missing_or_empty_file_means_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path / "absent.yaml") == CalendarOverrides()
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert load_overrides(empty) == CalendarOverrides()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "years:\n  2027:\n    holidays: [2026-12-31]\n",
            r"years\.2027\.holidays: 2026-12-31 is not in 2027; move it under 2026",
        ),
        (
            "years:\n  2027:\n    holidays: [2027-02-06]\n    workdays: [2027-02-06]\n",
            r"years\.2027: 2027-02-06 listed both as holiday and workday",
        ),
        ("years:\n  2027:\n    holidays: [2027-02-30]\n", r"years\.2027\.holidays\.0: "),
        ("years:\n  2027:\n    holiday: []\n", r"years\.2027\.holiday: Extra inputs"),
        ("years: [2027\n", r"line \d+ is not valid YAML"),
    ],
)
def test_bad_file_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError, match=message) as caught:
        load_overrides(path)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_non_utf8_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_bytes("# 节假日\nyears: {}\n".encode("gbk"))
    with pytest.raises(CalendarFileError, match="is not UTF-8 text"):
        load_overrides(path)


def test_shipped_guangzhou_file_loads() -> None:
    loaded = load_overrides(REPO / "routing_rules" / "guangzhou" / "calendar.yaml")
    assert isinstance(loaded, CalendarOverrides)
