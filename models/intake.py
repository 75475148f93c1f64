"""The intake form a clerk fills in to open a case (受理)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from models.common import Channel, Code, Occupation, RegionCode

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_is_valid(value: str) -> bool:
    """GB 11643 citizen ID: 17 digits and an ISO 7064 MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def check_phone(value: str) -> str:
    if not (_MOBILE.match(value) or _LANDLINE.match(value)):
        raise ValueError("phone must be a mainland mobile (11 digits) or 0xx-xxxxxxx landline")
    return value


def check_id_number(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip().upper()
    if not id_number_is_valid(value):
        raise ValueError("id_number is not a valid 18-character citizen ID (check digit)")
    return value


class IntakeForm(BaseModel):
    """What the worker tells the clerk. Name, phone and ID number are personal data."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True)]
    id_number: str | None = None
    occupation: Occupation
    platform: Code | None = None
    category: Code
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=2000)]
    residence: RegionCode
    workplace: RegionCode
    incident: RegionCode | None = None
    channel: Channel = Channel.hotline
    urgent: bool = False
    request_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    sla_plan: Code | None = Field(default=None, description="override of the rules' SLA plan")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return check_phone(value)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return check_id_number(value)


class RepeatQuery(BaseModel):
    """What finds a repeat appeal: the worker (phone, ID number), the category and the
    counterparty (the platform, or the place). Extra intake fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    phone: Annotated[str, StringConstraints(strip_whitespace=True)]
    id_number: str | None = None
    category: Code
    platform: Code | None = None
    workplace: RegionCode | None = None  # not yet known when only an address was given
    incident: RegionCode | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return check_phone(value)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return check_id_number(value)


def mask_name(name: str) -> str:
    """张三丰 -> 张**: keep the surname only."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    digits = phone.replace("-", "")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def mask_id(id_number: str | None) -> str | None:
    return None if id_number is None else id_number[:6] + "********" + id_number[-4:]
