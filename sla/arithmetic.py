"""Deadlines and elapsed working time (民法典 Arts. 201, 203).

All instants are timezone-aware. Days, office hours and the receipt day are judged
in ``tz`` (Asia/Shanghai by default); arithmetic on instants is done in UTC, because
subtracting two datetimes that share a ``ZoneInfo`` compares wall clocks and would
be wrong across a DST change in zones that have one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import assert_never
from zoneinfo import ZoneInfo

from sla.calendar import WorkCalendar
from sla.hours import OfficeHours
from sla.periods import Period, Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS = OfficeHours()
# Brief-given convention for the end of a calendar day; 24:00 is not a valid time.
END_OF_DAY = time(23, 59, 59)


def due_at(
    start: datetime,
    period: Period,
    *,
    calendar: WorkCalendar,
    hours: OfficeHours = DEFAULT_HOURS,
    tz: ZoneInfo = SHANGHAI,
) -> datetime:
    """When a period that starts at ``start`` ends.

    - ``N wd``: close of office hours on the N-th working day after the receipt day
      (the receipt day itself is not counted, whatever the hour or kind of day).
    - ``N d``: 23:59:59 on the N-th calendar day after the receipt day; if that day is
      a rest day, 23:59:59 on the next working day (Art. 203).
    - ``N h`` / ``N m``: exactly that much later.
    - ``N wh``: N hours of office time on working days, counted from ``start`` or,
      outside office hours, from the next opening.

    Args:
        start: When the period starts (e.g. the case was received); must be aware.
        period: How long it runs.
        calendar: Which days are worked.
        hours: Office hours of a working day.
        tz: Where days and office hours are judged.

    Returns:
        The deadline, aware, in ``tz``.

    Raises:
        ValueError: ``start`` has no time zone.
    """
    _require_aware(start, "start")
    receipt_day = start.astimezone(tz).date()
    match period.unit:
        case Unit.wd:
            last = calendar.nth_workday_after(receipt_day, period.value)
            return _local(last, hours.close_of_day(), tz)
        case Unit.d:
            last = receipt_day + timedelta(days=period.value)
            if not calendar.is_workday(last):
                last = calendar.next_workday(last)
            return _local(last, END_OF_DAY, tz)
        case Unit.h | Unit.m:
            return (start.astimezone(UTC) + period.exact()).astimezone(tz)
        case Unit.wh:
            return add_working_time(start, period.exact(), calendar=calendar, hours=hours, tz=tz)
        case _:
            assert_never(period.unit)


def add_working_time(
    start: datetime,
    amount: timedelta,
    *,
    calendar: WorkCalendar,
    hours: OfficeHours = DEFAULT_HOURS,
    tz: ZoneInfo = SHANGHAI,
) -> datetime:
    """The instant when ``amount`` of office time has passed since ``start``.

    Useful to resume a paused clock with its remaining budget. Counting starts at
    ``start`` if it is in office hours on a working day, else at the next opening.
    A result that falls exactly on a window's end stays there (12:00, not 13:30).

    Args:
        start: Aware start instant.
        amount: Office time to add; not negative.
        calendar: Which days are worked.
        hours: Office hours of a working day.
        tz: Where days and office hours are judged.

    Returns:
        Aware instant in ``tz``.

    Raises:
        ValueError: ``start`` has no time zone, or ``amount`` is negative.
    """
    _require_aware(start, "start")
    if amount < timedelta(0):
        raise ValueError(f"cannot add negative working time {amount}")
    cursor = start.astimezone(UTC)
    remaining = amount
    day = start.astimezone(tz).date()
    while True:
        if calendar.is_workday(day):
            for opens, closes in _office_intervals(day, hours, tz):
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(tz)
                remaining -= available
        day += timedelta(days=1)


def working_time_between(
    start: datetime,
    end: datetime,
    *,
    calendar: WorkCalendar,
    hours: OfficeHours = DEFAULT_HOURS,
    tz: ZoneInfo = SHANGHAI,
) -> timedelta:
    """Office time on working days between two instants.

    Args:
        start: Aware instant.
        end: Aware instant; if before ``start`` the result is negative, so
            ``working_time_between(now, due)`` reads as time left and goes negative
            once overdue.
        calendar: Which days are worked.
        hours: Office hours of a working day.
        tz: Where days and office hours are judged.

    Returns:
        The office time, negative if ``end < start``.

    Raises:
        ValueError: An instant has no time zone.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    if hi < lo:
        return -working_time_between(end, start, calendar=calendar, hours=hours, tz=tz)
    first, last = lo.astimezone(tz).date(), hi.astimezone(tz).date()
    total = timedelta(0)
    for day in {first, last}:  # the ends: only their office time within [lo, hi]
        if calendar.is_workday(day):
            for opens, closes in _office_intervals(day, hours, tz):
                overlap = min(closes, hi) - max(opens, lo)
                if overlap > timedelta(0):
                    total += overlap
    if last - first > timedelta(days=1):
        total += _whole_days_between(first, last, calendar, hours, tz)
    return total


# Lists compute time left for every row against one "now": rows due on the same day
# share their whole days in between, so those are worked out once.
@lru_cache(maxsize=8192)
def _whole_days_between(
    first: date, last: date, calendar: WorkCalendar, hours: OfficeHours, tz: ZoneInfo
) -> timedelta:
    """The office time of the working days strictly between ``first`` and ``last``."""
    total, day = timedelta(0), first + timedelta(days=1)
    while day < last:
        if calendar.is_workday(day):
            total += _office_day(day, hours, tz)
        day += timedelta(days=1)
    return total


@lru_cache(maxsize=4096)
def _office_day(day: date, hours: OfficeHours, tz: ZoneInfo) -> timedelta:
    """The office time of a whole working day (its windows may meet a zone's shift)."""
    windows = _office_intervals(day, hours, tz)
    return sum((closes - opens for opens, closes in windows), timedelta(0))


def format_working_duration(td: timedelta, hours: OfficeHours = DEFAULT_HOURS) -> str:
    """Working time for people, in working days of ``hours``, hours and minutes.

    One working day is ``hours.daily_total()`` (7 hours by default), so 17 working
    hours read ``2个工作日3小时``. Seconds are dropped; zero parts are left out;
    zero reads ``0分钟``; a negative duration gets a leading ``-`` (callers usually
    pass ``abs(td)`` and say 剩余 or 已超期 themselves).

    Args:
        td: Working time, e.g. from `working_time_between`.
        hours: Office hours that define a working day's length.

    Returns:
        Text such as ``2个工作日3小时15分钟``.
    """
    sign = "-" if td < timedelta(0) else ""
    minutes = abs(td) // timedelta(minutes=1)
    per_day = hours.daily_total() // timedelta(minutes=1)
    days, rest = divmod(minutes, per_day) if per_day > 0 else (0, minutes)
    whole_hours, rest = divmod(rest, 60)
    parts = [
        f"{count}{label}"
        for count, label in ((days, "个工作日"), (whole_hours, "小时"), (rest, "分钟"))
        if count
    ]
    return sign + ("".join(parts) or "0分钟")


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no time zone; pass an aware datetime")


def _local(day: date, moment: time, tz: ZoneInfo) -> datetime:
    # The round trip through UTC normalises a wall time that falls in a DST gap.
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _office_intervals(
    day: date, hours: OfficeHours, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    return [
        (
            datetime.combine(day, opens, tzinfo=tz).astimezone(UTC),
            datetime.combine(day, closes, tzinfo=tz).astimezone(UTC),
        )
        for opens, closes in hours.windows
    ]
