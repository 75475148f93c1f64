"""Deadlines and working time, each expectation worked out by hand from the rules.

Default office hours are 09:00-12:00 and 13:30-17:30, i.e. 7 office hours a day;
`wd` deadlines close at 17:30, `d` deadlines at 23:59:59, all in Asia/Shanghai.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import (
    DEFAULT_HOURS,
    SHANGHAI,
    CalendarOverrides,
    OfficeHours,
    Period,
    WorkCalendar,
    YearOverrides,
    add_working_time,
    due_at,
    format_working_duration,
    working_time_between,
)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A Shanghai wall-clock instant."""
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


def due(
    start: datetime,
    period: str,
    calendar: WorkCalendar,
    *,
    hours: OfficeHours = DEFAULT_HOURS,
    tz: ZoneInfo = SHANGHAI,
) -> datetime:
    return due_at(start, Period.parse(period), calendar=calendar, hours=hours, tz=tz)


# --- wd: working days, receipt day not counted, close of office hours --------------


def test_1wd_from_friday_evening(calendar: WorkCalendar) -> None:
    # Received Fri 2025-03-07 20:00; Friday is not counted, Sat/Sun rest, so the 1st
    # working day is Mon 03-10, closing 17:30.
    assert due(at(2025, 3, 7, 20), "1wd", calendar) == at(2025, 3, 10, 17, 30)


def test_5wd_from_friday_evening(calendar: WorkCalendar) -> None:
    # Mon 10th (1), Tue 11th (2), Wed 12th (3), Thu 13th (4), Fri 14th (5); March 2025
    # has no holidays.
    assert due(at(2025, 3, 7, 20), "5wd", calendar) == at(2025, 3, 14, 17, 30)


def test_wd_received_late_on_a_working_day(calendar: WorkCalendar) -> None:
    # Mon 23:59 is still Monday's receipt; the 1st working day after is Tue 03-11.
    assert due(at(2025, 3, 10, 23, 59), "1wd", calendar) == at(2025, 3, 11, 17, 30)


def test_wd_from_a_holiday(calendar: WorkCalendar) -> None:
    # Received Fri 2025-10-03, inside the National Day break (Oct 1-8 off). Oct 4-8
    # rest; Thu 10-09 is the 1st working day.
    assert due(at(2025, 10, 3, 10), "1wd", calendar) == at(2025, 10, 9, 17, 30)
    # Thu 9th (1), Fri 10th (2), Sat 11th make-up workday (3), Sun 12th rests,
    # Mon 13th (4), Tue 14th (5).
    assert due(at(2025, 10, 3, 10), "5wd", calendar) == at(2025, 10, 14, 17, 30)


def test_wd_across_spring_festival_2026(calendar: WorkCalendar) -> None:
    # Received Thu 2026-02-12. Fri 13th (1), Sat 14th make-up workday (2), Feb 15-23
    # off, Tue 24th (3), Wed 25th (4), Thu 26th (5).
    assert due(at(2026, 2, 12, 9), "3wd", calendar) == at(2026, 2, 24, 17, 30)
    assert due(at(2026, 2, 12, 9), "5wd", calendar) == at(2026, 2, 26, 17, 30)


def test_receipt_day_is_judged_in_shanghai(calendar: WorkCalendar) -> None:
    # 2025-03-09 17:00 UTC is Mon 03-10 01:00 in Shanghai: received Monday, so the
    # 1st working day after is Tue 03-11 (not Mon, as the UTC date Sunday would say).
    start = datetime(2025, 3, 9, 17, 0, tzinfo=UTC)
    assert due(start, "1wd", calendar) == at(2025, 3, 11, 17, 30)


def test_other_time_zone_and_office_hours(calendar: WorkCalendar) -> None:
    # Judged in UTC, the same instant is Sun 2025-03-09; 1st working day after is
    # Mon 03-10, closing at 18:00 with these hours, in UTC.
    hours = OfficeHours.model_validate(["08:30-12:00", "14:00-18:00"])
    start = datetime(2025, 3, 9, 17, 0, tzinfo=UTC)
    result = due(start, "1wd", calendar, hours=hours, tz=ZoneInfo("UTC"))
    assert result == datetime(2025, 3, 10, 18, 0, tzinfo=UTC)
    assert result.tzinfo == ZoneInfo("UTC")


# --- d: calendar days, moved off rest days ----------------------------------------


def test_d_on_a_working_day(calendar: WorkCalendar) -> None:
    # Received Wed 2025-03-05; the 2nd day after is Fri 03-07, a working day.
    assert due(at(2025, 3, 5, 10), "2d", calendar) == at(2025, 3, 7, 23, 59, 59)


def test_d_landing_on_a_weekend(calendar: WorkCalendar) -> None:
    # 3rd day after Wed 03-05 is Sat 03-08: rest, so it moves to Mon 03-10.
    assert due(at(2025, 3, 5, 10), "3d", calendar) == at(2025, 3, 10, 23, 59, 59)


def test_d_landing_in_a_holiday(calendar: WorkCalendar) -> None:
    # Received Mon 2025-09-29; 3rd day after is Thu 10-02, in the Oct 1-8 break; the
    # next working day is Thu 10-09.
    assert due(at(2025, 9, 29, 10), "3d", calendar) == at(2025, 10, 9, 23, 59, 59)


def test_d_landing_on_a_make_up_saturday(calendar: WorkCalendar) -> None:
    # Received Wed 2025-10-08; 3rd day after is Sat 10-11, a make-up workday: no move.
    assert due(at(2025, 10, 8, 10), "3d", calendar) == at(2025, 10, 11, 23, 59, 59)


# --- h and m: exact ------------------------------------------------------------------


def test_h_exact_across_midnight(calendar: WorkCalendar) -> None:
    # Fri 22:30 + 3h = Sat 01:30; weekends do not matter.
    assert due(at(2025, 3, 7, 22, 30), "3h", calendar) == at(2025, 3, 8, 1, 30)


def test_m_exact_across_midnight(calendar: WorkCalendar) -> None:
    # 23:45 + 90 minutes = 01:15 the next day.
    assert due(at(2025, 3, 7, 23, 45), "90m", calendar) == at(2025, 3, 8, 1, 15)


def test_h_from_utc_comes_back_in_shanghai(calendar: WorkCalendar) -> None:
    # 15:00 UTC is 23:00 in Shanghai (UTC+8, no DST); + 2h = 01:00 on the 8th.
    result = due(datetime(2025, 3, 7, 15, 0, tzinfo=UTC), "2h", calendar)
    assert result == at(2025, 3, 8, 1, 0)
    assert result.tzinfo == SHANGHAI
    assert result.utcoffset() == timedelta(hours=8)


# --- wh: office hours on working days ------------------------------------------------


def test_wh_across_lunch(calendar: WorkCalendar) -> None:
    # Mon 11:00: 1h until 12:00, lunch skipped, 1h more from 13:30 = 14:30.
    assert due(at(2025, 3, 10, 11), "2wh", calendar) == at(2025, 3, 10, 14, 30)


def test_wh_ending_at_a_window_end_stays_there(calendar: WorkCalendar) -> None:
    # Mon 09:00 + 3 office hours = 12:00 exactly, not the 13:30 reopening.
    assert due(at(2025, 3, 10, 9), "3wh", calendar) == at(2025, 3, 10, 12, 0)


def test_wh_overnight(calendar: WorkCalendar) -> None:
    # Mon 16:30: 1h until 17:30; Tue 09:00 + 2h = 11:00.
    assert due(at(2025, 3, 10, 16, 30), "3wh", calendar) == at(2025, 3, 11, 11, 0)


def test_wh_over_a_full_day(calendar: WorkCalendar) -> None:
    # Mon 09:00: Monday gives 7h (3 + 4); the 8th hour is Tue 09:00-10:00.
    assert due(at(2025, 3, 10, 9), "8wh", calendar) == at(2025, 3, 11, 10, 0)


def test_wh_over_a_weekend(calendar: WorkCalendar) -> None:
    # Fri 2025-03-07 16:00: 1.5h until 17:30; Sat/Sun skipped; Mon 09:00 + 2.5h = 11:30.
    assert due(at(2025, 3, 7, 16), "4wh", calendar) == at(2025, 3, 10, 11, 30)


def test_wh_from_outside_office_hours(calendar: WorkCalendar) -> None:
    # Sat 10:00: counting begins at Mon 09:00; + 1h = 10:00.
    assert due(at(2025, 3, 8, 10), "1wh", calendar) == at(2025, 3, 10, 10, 0)
    # Mon 12:30 (lunch): counting begins at 13:30; + 1h = 14:30.
    assert due(at(2025, 3, 10, 12, 30), "1wh", calendar) == at(2025, 3, 10, 14, 30)


def test_wh_across_a_holiday(calendar: WorkCalendar) -> None:
    # Tue 2025-09-30 17:00: 0.5h until 17:30; Oct 1-8 off; Thu 10-09 09:00 + 0.5h.
    assert due(at(2025, 9, 30, 17), "1wh", calendar) == at(2025, 10, 9, 9, 30)


# --- into 2027, which chinese_calendar 1.11.0 lacks ----------------------------------


def test_period_into_2027_uses_the_fallback(
    calendar: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sla.calendar")
    # Received Wed 2026-12-30: Thu 12-31 (1); Fri 2027-01-01 is 元旦, a statutory
    # holiday in the fallback; Sat/Sun rest; Mon 01-04 (2); Tue 01-05 (3).
    assert due(at(2026, 12, 30, 10), "3wd", calendar) == at(2027, 1, 5, 17, 30)
    # Received Tue 2026-12-29; 3rd day after is Fri 2027-01-01, rest, so it moves to
    # the next working day, Mon 01-04.
    assert due(at(2026, 12, 29, 10), "3d", calendar) == at(2027, 1, 4, 23, 59, 59)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one per year, however many days were asked about
    assert "2027" in warnings[0]


def test_overrides_move_deadlines() -> None:
    calendar = WorkCalendar(
        CalendarOverrides(years={2025: YearOverrides(holidays=(date(2025, 3, 10),))})
    )
    # Mon 03-10 is made a holiday, so the 1st working day after Fri 03-07 is Tue 03-11.
    assert due(at(2025, 3, 7, 20), "1wd", calendar) == at(2025, 3, 11, 17, 30)


def test_naive_start_is_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        due_at(datetime(2025, 3, 10, 9), Period.parse("1wd"), calendar=calendar)
    with pytest.raises(ValueError, match="has no time zone"):
        working_time_between(at(2025, 3, 10), datetime(2025, 3, 11), calendar=calendar)


def test_negative_working_time_cannot_be_added(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_time(at(2025, 3, 10, 9), timedelta(hours=-1), calendar=calendar)


# --- working time between two instants ---------------------------------------------


def test_working_time_across_lunch(calendar: WorkCalendar) -> None:
    # Mon 11:00-12:00 (1h) + 13:30-14:30 (1h).
    assert working_time_between(
        at(2025, 3, 10, 11), at(2025, 3, 10, 14, 30), calendar=calendar
    ) == timedelta(hours=2)


def test_working_time_over_a_weekend_and_negative(calendar: WorkCalendar) -> None:
    # Fri 16:00-17:30 (1.5h) + Mon 09:00-11:30 (2.5h) = 4h; reversed, -4h.
    friday, monday = at(2025, 3, 7, 16), at(2025, 3, 10, 11, 30)
    assert working_time_between(friday, monday, calendar=calendar) == timedelta(hours=4)
    assert working_time_between(monday, friday, calendar=calendar) == -timedelta(hours=4)


def test_working_time_over_a_holiday_and_a_week(calendar: WorkCalendar) -> None:
    # Tue 2025-09-30 17:00-17:30 (0.5h), Oct 1-8 off, Thu 10-09 09:00-09:30 (0.5h).
    assert working_time_between(
        at(2025, 9, 30, 17), at(2025, 10, 9, 9, 30), calendar=calendar
    ) == timedelta(hours=1)
    # Mon 03-10 00:00 to Mon 03-17 00:00: five working days of 7h.
    assert working_time_between(at(2025, 3, 10), at(2025, 3, 17), calendar=calendar) == timedelta(
        hours=35
    )
    # Both ends in the lunch break: nothing.
    assert working_time_between(
        at(2025, 3, 10, 12, 10), at(2025, 3, 10, 13), calendar=calendar
    ) == timedelta(0)


# No example database: it would write .hypothesis/ into the working tree.
@settings(max_examples=200, deadline=None, database=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(SHANGHAI)
    ),
    count=st.integers(min_value=1, max_value=60),
)
def test_wh_deadline_holds_exactly_that_much_working_time(start: datetime, count: int) -> None:
    # A consistency check between the two directions, not a hand-computed value.
    calendar = WorkCalendar()
    end = due_at(start, Period.parse(f"{count}wh"), calendar=calendar)
    assert working_time_between(start, end, calendar=calendar) == timedelta(hours=count)


# --- formatting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(hours=17), "2个工作日3小时"),  # 17h = 2 x 7h + 3h
        (timedelta(hours=7), "1个工作日"),
        (timedelta(minutes=45), "45分钟"),
        (timedelta(hours=1, minutes=5, seconds=59), "1小时5分钟"),  # seconds dropped
        (timedelta(0), "0分钟"),
        (timedelta(seconds=59), "0分钟"),
        (-timedelta(hours=7, minutes=30), "-1个工作日30分钟"),
    ],
)
def test_format_working_duration(td: timedelta, text: str) -> None:
    assert format_working_duration(td) == text


def test_format_uses_the_office_day_length() -> None:
    # With 08:00-12:00 and 13:00-17:00 a working day is 8h: 17h = 2 x 8h + 1h.
    hours = OfficeHours.model_validate(["08:00-12:00", "13:00-17:00"])
    assert format_working_duration(timedelta(hours=17), hours) == "2个工作日1小时"
