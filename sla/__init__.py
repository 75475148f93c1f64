"""Working-day calendar and deadline arithmetic (DESIGN.md, "Clocks").

Pure functions and models: no Temporal, no I/O except `load_overrides`. Because the
answers depend on calendar data that can change (a package upgrade, a new overrides
file), workflows must call these from an activity or record the result in history.
"""

from sla.arithmetic import (
    DEFAULT_HOURS,
    END_OF_DAY,
    SHANGHAI,
    add_working_time,
    due_at,
    format_working_duration,
    working_time_between,
)
from sla.calendar import (
    CalendarFileError,
    CalendarOverrides,
    WorkCalendar,
    YearOverrides,
    clear_caches,
    load_overrides,
)
from sla.hours import OfficeHours
from sla.periods import UNIT_LABELS, Period, PeriodStr, Unit

__all__ = [
    "DEFAULT_HOURS",
    "END_OF_DAY",
    "SHANGHAI",
    "UNIT_LABELS",
    "CalendarFileError",
    "CalendarOverrides",
    "OfficeHours",
    "Period",
    "PeriodStr",
    "Unit",
    "WorkCalendar",
    "YearOverrides",
    "add_working_time",
    "clear_caches",
    "due_at",
    "format_working_duration",
    "load_overrides",
    "working_time_between",
]
