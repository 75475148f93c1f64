"""Which days are working days in mainland China, with 调休 and local overrides.

Sources, first match wins:

1. The overrides file (``routing_rules/<city>/calendar.yaml``), so an administrator can
   add next year's State Council schedule the day it is published. A year marked
   ``complete`` is taken as the whole schedule: days it does not list are Mon–Fri.
2. The ``chinese_calendar`` package, for the years it has (2004–2026 in 1.11.0). It
   knows the make-up workdays (调休上班) as well as the holidays.
3. Otherwise Mon–Fri minus the statutory holidays the ``holidays`` package gives for
   "CN", including its 补假 (a statutory holiday on a weekend gives a weekday off,
   全国年节及纪念日放假办法). Make-up workdays cannot be known, so one warning is
   logged per year.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

logger = logging.getLogger(__name__)


class CalendarFileError(ValueError):
    """The overrides file cannot be read; the message is one line naming file and entry."""


class YearOverrides(BaseModel):
    """One year's corrections to the calendar.

    Attributes:
        holidays: Days off, even if the sources say otherwise.
        workdays: Days worked (调休上班), even weekends.
        complete: True when ``holidays`` and ``workdays`` are the year's whole official
            schedule; the packages are then not consulted for that year.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    complete: bool = False

    @field_validator("holidays", "workdays", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        # "workdays:" with nothing after it is YAML null; an administrator means "none".
        return () if value is None else value


class CalendarOverrides(BaseModel):
    """Overrides by year, as in ``years: {2027: {holidays: [...], workdays: [...]}}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    years: dict[int, YearOverrides] = Field(default_factory=dict)

    @field_validator("years", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _check_dates(self) -> CalendarOverrides:
        for year, entry in self.years.items():
            for kind, days in (("holidays", entry.holidays), ("workdays", entry.workdays)):
                for day in days:
                    if day.year != year:
                        raise ValueError(
                            f"years.{year}.{kind}: {day} is not in {year}; move it under {day.year}"
                        )
            both = sorted(set(entry.holidays) & set(entry.workdays))
            if both:
                listed = ", ".join(str(day) for day in both)
                raise ValueError(f"years.{year}: {listed} listed both as holiday and workday")
        return self


class _TextDatesLoader(yaml.SafeLoader):
    """Leaves dates as text, so a bad one (2027-02-30) is reported with its entry."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [rule for rule in rules if rule[0] != "tag:yaml.org,2002:timestamp"]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_overrides(path: Path) -> CalendarOverrides:
    """Reads the overrides file; a missing or empty file means no overrides.

    Args:
        path: The YAML file, e.g. ``routing_rules/guangzhou/calendar.yaml``.

    Returns:
        The validated overrides.

    Raises:
        CalendarFileError: The file is not valid YAML or not valid overrides; the
            message names the file and the entry.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CalendarOverrides()
    except UnicodeDecodeError:
        raise CalendarFileError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_TextDatesLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        problem = getattr(error, "problem", None)
        detail = f" ({problem})" if problem else ""
        raise CalendarFileError(f"{path}:{line} is not valid YAML{detail}") from None
    if data is not None and not isinstance(data, dict):
        raise CalendarFileError(f"{path}: expected a mapping starting with 'years:'")
    try:
        return CalendarOverrides.model_validate(data or {})
    except ValidationError as error:
        raise CalendarFileError(f"{path}: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        cause = item.get("ctx", {}).get("error")
        message = str(cause) if isinstance(cause, ValueError) else item["msg"]
        where = ".".join(str(part) for part in item["loc"])
        # Model-level checks have no location; their message names the entry.
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


@functools.cache
def _package_has_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def fallback_notice(year: int) -> str:
    """What is said (once, in the log and by `appeals health`) of a year without data."""
    return (
        f"{year} has no official holiday schedule in chinese_calendar; counting Mon-Fri minus "
        "statutory holidays, make-up workdays (调休) are unknown. Add the State Council "
        f"schedule for {year} to the calendar overrides file."
    )


def years_without_schedule(calendar: WorkCalendar, years: Iterable[int]) -> list[int]:
    """The years among ``years`` that fall back to weekends and statutory holidays:
    neither the package nor a complete overrides entry has their official schedule."""
    return [y for y in years if not _package_has_year(y) and y not in calendar.complete_years]


@functools.cache
def _fallback_days_off(year: int) -> frozenset[date]:
    # Cached per year, so the warning is logged once per year per process; the CLI
    # sends warnings to its log file, not into a command's output (cli.py).
    logger.warning("%s", fallback_notice(year))
    # Empty outside the years it knows (1950-2100 in 0.109); weekends still apply then.
    return frozenset(holidays.country_holidays("CN", years=year).keys())


@functools.lru_cache(maxsize=8192)
def _source_is_workday(day: date) -> bool:
    if _package_has_year(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5 and day not in _fallback_days_off(day.year)


def load_sources(years: Iterable[int]) -> None:
    """Load now the data the sources answer ``years`` from: for a year chinese_calendar
    does not know, the ``holidays`` package imports its modules on first use (about 9,000
    objects): a process that runs for good calls this before freezing what it holds
    (worker.freeze_startup_heap), so that they are not scanned by every full collection
    after; they live as long as the process either way."""
    for year in years:
        # Not through _fallback_days_off: that warns of a year the overrides may cover.
        holidays.country_holidays("CN", years=year)


def clear_caches() -> None:
    """Forgets cached answers and logged warnings (for tests, or after upgrading data)."""
    _package_has_year.cache_clear()
    _fallback_days_off.cache_clear()
    _source_is_workday.cache_clear()


class WorkCalendar:
    """Answers whether a day is worked, using overrides, then the packages.

    Args:
        overrides: Corrections from the overrides file; none by default.
    """

    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self.overrides = overrides or CalendarOverrides()
        self._fixed: dict[date, bool] = {}
        for entry in self.overrides.years.values():
            self._fixed.update(dict.fromkeys(entry.holidays, False))
            self._fixed.update(dict.fromkeys(entry.workdays, True))
        self._complete = frozenset(
            year for year, entry in self.overrides.years.items() if entry.complete
        )

    @property
    def complete_years(self) -> frozenset[int]:
        """Years whose whole official schedule the overrides give."""
        return self._complete

    def is_workday(self, day: date) -> bool:
        """Whether offices work on ``day``; never raises for a valid date.

        Raises:
            TypeError: ``day`` is a datetime, whose date depends on a time zone.
        """
        if isinstance(day, datetime):
            raise TypeError("is_workday takes a date; convert the datetime in its time zone")
        fixed = self._fixed.get(day)
        if fixed is not None:
            return fixed
        if day.year in self._complete:
            return day.weekday() < 5
        return _source_is_workday(day)

    def workdays_after(self, day: date) -> Iterator[date]:
        """Working days after ``day`` (``day`` itself excluded), in order, without end."""
        while True:
            day += timedelta(days=1)
            if self.is_workday(day):
                yield day

    def next_workday(self, day: date) -> date:
        """The first working day after ``day``."""
        return next(self.workdays_after(day))

    def nth_workday_after(self, day: date, n: int) -> date:
        """The n-th working day after ``day``, which is not counted (n >= 1)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        for count, workday in enumerate(self.workdays_after(day), start=1):
            if count == n:
                return workday
        raise AssertionError("unreachable: workdays_after never ends")
