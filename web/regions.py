"""Choices for selects: an option, a group of options, and the region picker built
from the directory (districts as groups, names shown, codes as values)."""

from __future__ import annotations

from dataclasses import dataclass

from routing_rules import RuleSet


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Group:
    label: str  # "" for options outside any group
    options: list[Option]


def region_groups(rules: RuleSet) -> list[Group]:
    """One group per district (the district itself, then its streets); the city first."""
    regions = list(rules.regions.values())
    cities = [r for r in regions if r.level == "city"]
    groups = [Group("全市", [Option(r.code, r.name) for r in cities])] if cities else []
    for district in (r for r in regions if r.level == "district"):
        streets = [r for r in regions if r.parent == district.code]
        options = [Option(district.code, f"{district.name}（全区）")]
        options += [Option(s.code, s.name) for s in streets]
        groups.append(Group(district.name, options))
    return groups
