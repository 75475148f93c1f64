"""Vocabulary shared by intake, routing, tasks and the read model."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


class Occupation(StrEnum):
    rider = "rider"
    courier = "courier"
    ride_hailing = "ride_hailing"
    truck_driver = "truck_driver"
    other = "other"


OCCUPATION_LABELS: dict[Occupation, str] = {
    Occupation.rider: "外卖骑手",
    Occupation.courier: "快递员",
    Occupation.ride_hailing: "网约车司机",
    Occupation.truck_driver: "货车司机",
    Occupation.other: "其他新就业形态劳动者",
}


class Channel(StrEnum):
    hotline = "hotline"
    walk_in = "walk_in"
    online = "online"
    union_station = "union_station"


class JurisdictionBasis(StrEnum):
    """Which place decides the owning office (属地)."""

    incident = "incident"
    workplace = "workplace"
    residence = "residence"
    platform_domicile = "platform_domicile"


class StaffRole(StrEnum):
    clerk = "clerk"
    handler = "handler"
    supervisor = "supervisor"
    liaison = "liaison"
    admin = "admin"  # accounts and rules; reads no case


_REGION_RE = re.compile(r"^\d{6}(\d{3})?$")


def _check_region(value: str) -> str:
    # GB/T 2260 gives six digits down to districts; streets (乡镇街道) carry the
    # nine-digit statistical division code that extends their district's code.
    if not _REGION_RE.match(value):
        raise ValueError(f"region code {value!r} must be 6 digits (GB/T 2260) or 9 for a street")
    return value


RegionCode = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_region)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
]
