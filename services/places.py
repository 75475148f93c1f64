"""Addresses at intake (地址): the clerk types the address as the worker says it; the
recognizer (routing_rules/addresses.py) proposes the region; the clerk confirms.

Nothing is guessed: an address that may mean several places, names a street but no city
or district, or names only the city, is refused with the candidates to choose from
(``PlaceChoice``: one line, and the candidates for the API and the web form). A single
proposal is used only when the request says the clerk confirmed it
(``confirm_address``); a code the clerk gives always wins over the address.
The address itself is not kept: the case carries the confirmed region code.
"""

from __future__ import annotations

from typing import Any

from routing_rules import RuleSet
from routing_rules.addresses import Recognition, recognize
from routing_rules.divisions import Division, national
from services.errors import BadInput

# The intake's address fields and the region field each one proposes.
ADDRESS_FIELDS = {"workplace_address": "workplace", "incident_address": "incident"}
MAX_ADDRESS = 200


class PlaceChoice(BadInput):
    """An address that needs the clerk's choice; ``extra`` holds the candidates."""

    def __init__(self, field: str, found: Recognition, rules: RuleSet) -> None:
        candidates = [candidate(d, rules) for d in ordered(found.candidates, rules)]
        names = ", ".join(f"{c['code']} {c['full_name']}" for c in candidates)
        if found.reason is None:
            what = f"proposes {names}; confirm it (confirm_address) or give the {field} code"
        elif candidates:
            what = f"{found.reason}; choose one and give its code as {field}: {names}"
        else:
            what = f"{found.reason}; give the {field} code"
        super().__init__(f"{field} address {found.address[:60]!r}: {what}")
        self.extra = {
            "field": field,
            "address": found.address,
            "reason": found.reason,
            "candidates": candidates,
        }


def ordered(places: list[Division], rules: RuleSet) -> list[Division]:
    """This deployment's places first, then the others, each by code."""
    return sorted(places, key=lambda d: (not rules.is_internal(d.code), d.code))


def candidate(d: Division, rules: RuleSet) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "full_name": national().full_name(d.code),
        "internal": rules.is_internal(d.code),
    }


def proposal(address: str, rules: RuleSet) -> dict[str, Any]:
    """What an address proposes, for a form to show: the candidates and, when it is one
    place, that place (still to be confirmed)."""
    found = recognize(_checked(address, "address"))
    places = ordered(found.candidates, rules)
    return {
        "address": found.address,
        "reason": found.reason,
        "candidates": [candidate(d, rules) for d in places],
        "proposed": found.unique.code if found.unique else None,
    }


def resolve_addresses(fields: dict[str, Any], rules: RuleSet) -> dict[str, Any]:
    """The intake fields with the address fields taken out, and a missing workplace or
    incident code filled from its address when the clerk confirmed the one place it
    names; ``PlaceChoice`` when the address needs a choice."""
    fields = dict(fields)
    confirmed = fields.pop("confirm_address", False) is True
    for key, field in ADDRESS_FIELDS.items():
        address = fields.pop(key, None)
        if address is None or (isinstance(address, str) and not address.strip()):
            continue
        if fields.get(field):
            continue  # the clerk gave the code: it wins over what the address suggests
        found = recognize(_checked(address, key))
        if found.unique is not None and confirmed:
            fields[field] = found.unique.code
        else:
            raise PlaceChoice(field, found, rules)
    return fields


def _checked(address: object, key: str) -> str:
    if not isinstance(address, str):
        raise BadInput(f"{key} must be text")
    if len(address) > MAX_ADDRESS:
        raise BadInput(f"{key} is longer than {MAX_ADDRESS} characters")
    return address
