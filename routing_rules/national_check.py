"""``appeals rules check``: every code the directory names must be a real, current
division in the national table (routing_rules/divisions.py), under the name and parent
the table gives it. A directory with a made-up code would route a real case to nowhere,
or call a typo "external"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing_rules.divisions import national

if TYPE_CHECKING:
    from routing_rules.ruleset import RuleSet


def unknown_place(code: str, ruleset: RuleSet, *, what: str) -> str | None:
    """The one-line refusal of a place code that exists nowhere, with the nearest real
    names; None for a region of the deployment or any real division (a place outside
    the deployment is an external hand-off, not a mistake). Intake and `appeals rules
    explain` both ask this."""
    if code in ruleset.regions or code in national():
        return None
    return national().unknown(code, what=what)


def not_a_region(code: str, ruleset: RuleSet, *, what: str, streets: bool = False) -> str | None:
    """The one-line refusal of a code that is not a region of this deployment (with
    ``streets``, an unlisted street of one of its districts is one), naming the nearest
    of its regions; None when it is one. Filters and designations ask this: an office
    must be chosen among the deployment's own places."""
    table = national()
    if code in ruleset.regions:
        return None
    # An unlisted street is served by its district, if it is a real street at all.
    if streets and ruleset.known_region(code) is not None and code in table:
        return None
    near = table.nearest(code, among=ruleset.regions) or table.nearest(
        code[:6], among=ruleset.regions
    )
    hint = ", ".join(f"{d.code} {table.full_name(d.code)}" for d in near)
    where = (
        f"{code} {table.full_name(code)} is outside this deployment"
        if code in table
        else f"{code} is not a current GB/T 2260 division"
    )
    return f"{what} {where}; nearest of its regions: {hint or 'see `appeals staff`'}"


def national_problems(ruleset: RuleSet) -> list[str]:
    """One line per code that the national table does not have, or names otherwise."""
    table = national()
    problems: list[str] = []
    for region in ruleset.regions.values():
        where = f"regions.yaml: region {region.code!r} ({region.name})"
        found = table.get(region.code)
        if found is None:
            problems.append(f"{where}: {table.unknown(region.code, what='code')}")
            continue
        if found.name != region.name:
            problems.append(
                f"{where}: the national table names {region.code} {found.name}, not {region.name}"
            )
        if region.parent is not None and region.parent != found.parent:
            problems.append(
                f"{where}: the national table puts it under {found.parent} "
                f"{table.full_name(found.parent)}, not {region.parent}"
            )
    for platform in ruleset.platforms.values():
        if platform.domicile not in table:
            problems.append(
                f"platforms.yaml: platform {platform.code!r}: "
                + table.unknown(platform.domicile, what="domicile")
            )
    prefixes = {code[:n] for code in table.by_code for n in range(2, len(code) + 1)}
    problems += [
        f"external_hotlines.yaml: prefix {prefix!r}: no current division's code starts with it"
        for prefix in ruleset.hotlines
        if prefix not in prefixes
    ]
    return problems
