"""Office hours: the windows of a working day in which offices handle cases."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

Window = tuple[time, time]

# "09:00-12:00"; "~" and the dashes Chinese input methods produce are accepted too,
# because administrators type these by hand.
_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-~–—～]\s*(\d{1,2}):(\d{2})\s*")


def _parse_window(text: str) -> Window:
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError(f"office hours {text!r} are not written like '09:00-12:00'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"office hours {text!r} contain a time that does not exist") from None


def _fmt(moment: time) -> str:
    return moment.strftime("%H:%M") if moment.second == 0 else moment.isoformat()


class OfficeHours(BaseModel):
    """The office windows of every working day, e.g. 09:00–12:00 and 13:30–17:30.

    In YAML, write a list of ``"HH:MM-HH:MM"`` strings; a model field of this type
    accepts that list directly::

        office_hours: ["09:00-12:00", "13:30-17:30"]

    Attributes:
        windows: Local (start, end) times, in order, not overlapping, each start
            before its end. Windows cannot cross midnight.
    """

    model_config = ConfigDict(frozen=True)

    windows: tuple[Window, ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            return {"windows": data}
        return data

    @field_validator("windows", mode="before")
    @classmethod
    def _parse_strings(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [_parse_window(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("windows")
    @classmethod
    def _check_order(cls, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        if not windows:
            raise ValueError("office hours need at least one window, e.g. '09:00-12:00'")
        previous_end: time | None = None
        for start, end in windows:
            if start.tzinfo is not None or end.tzinfo is not None:
                # The zone comes from the caller (Asia/Shanghai by default), so a zone
                # here would say two different things.
                raise ValueError("office hours are local times; leave out the time zone")
            if start >= end:
                raise ValueError(f"office hours {_fmt(start)}-{_fmt(end)} end before they start")
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"office hours {_fmt(start)}-{_fmt(end)} overlap or come before the "
                    f"window ending {_fmt(previous_end)}; list windows in order"
                )
            previous_end = end
        return windows

    def opening(self) -> time:
        """When the first window opens."""
        return self.windows[0][0]

    def close_of_day(self) -> time:
        """When the last window closes: the end of a working day's office time."""
        return self.windows[-1][1]

    def daily_total(self) -> timedelta:
        """Office time in one working day (7 hours by default)."""
        return sum(
            (_on(date.min, end) - _on(date.min, start) for start, end in self.windows),
            timedelta(),
        )

    def __str__(self) -> str:
        return ", ".join(f"{_fmt(start)}-{_fmt(end)}" for start, end in self.windows)


def _on(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment)
