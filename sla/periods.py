"""Periods written ``<N><unit>``, e.g. ``5wd`` (five working days) or ``48h``."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


class Unit(StrEnum):
    """Units a period can be counted in."""

    wd = "wd"  # working days (工作日)
    d = "d"  # calendar days (自然日)
    h = "h"  # exact hours
    wh = "wh"  # office hours on working days (工作小时)
    m = "m"  # exact minutes


UNIT_LABELS: dict[Unit, str] = {
    Unit.wd: "工作日",
    Unit.d: "自然日",
    Unit.h: "小时",
    Unit.wh: "工作小时",
    Unit.m: "分钟",
}

# A typo such as "50000000wd" would otherwise keep a worker walking the calendar for
# minutes; no real deadline comes near this.
MAX_VALUE = 100_000

_UNITS_TEXT = ", ".join(unit.value for unit in Unit)
# Longest alternatives first, so that "5wd" is never read as 5 "w" + "d". ASCII digits
# only: a full-width "５" slipping in from an input method should be pointed out, not
# silently accepted.
_PATTERN = re.compile(
    r"([0-9]+)(" + "|".join(sorted((u.value for u in Unit), key=len, reverse=True)) + r")"
)


class Period(BaseModel):
    """A length of time in one unit, such as five working days.

    Also accepts its string form where a model expects a ``Period``, so YAML can say
    ``reply: 5wd``.

    Attributes:
        value: How many units; at least 1.
        unit: What is counted.
    """

    model_config = ConfigDict(frozen=True)

    value: int = Field(ge=1, le=MAX_VALUE)
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Period:
        """Reads a period such as ``"5wd"``; surrounding spaces are ignored.

        Args:
            text: ``<N><unit>`` with N a positive whole number and unit one of
                ``wd, d, h, wh, m``.

        Returns:
            The period.

        Raises:
            ValueError: With a one-line message naming the bad text.
        """
        match = _PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"period {text!r} is not <N><unit> with unit one of {_UNITS_TEXT}")
        value = int(match.group(1))
        if not 1 <= value <= MAX_VALUE:
            raise ValueError(f"period {text!r} must count between 1 and {MAX_VALUE} units")
        return cls(value=value, unit=Unit(match.group(2)))

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            parsed = cls.parse(data)
            return {"value": parsed.value, "unit": parsed.unit}
        return data

    @property
    def label(self) -> str:
        """The period for people, e.g. ``5个工作日`` or ``48小时``."""
        if self.unit in (Unit.wd, Unit.d):
            return f"{self.value}个{UNIT_LABELS[self.unit]}"
        return f"{self.value}{UNIT_LABELS[self.unit]}"

    def exact(self) -> timedelta:
        """The period as a duration, for the units that have one (h, wh, m).

        Raises:
            ValueError: For ``wd`` and ``d``, whose length depends on the calendar.
        """
        if self.unit in (Unit.h, Unit.wh):
            return timedelta(hours=self.value)
        if self.unit is Unit.m:
            return timedelta(minutes=self.value)
        raise ValueError(f"period {self} has no fixed length; it depends on the calendar")

    def __str__(self) -> str:
        return f"{self.value}{self.unit.value}"


def _normalise(text: str) -> str:
    return str(Period.parse(text))


PeriodStr = Annotated[str, AfterValidator(_normalise)]
"""A period kept as text (``"5wd"``), checked and normalised through `Period.parse`."""
