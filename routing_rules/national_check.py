"""``appeals rules check``: every code the directory names must be a real, current
division in the national table (routing_rules/divisions.py), under the name and parent
the table gives it. A directory with a made-up code would route a real case to nowhere,
or call a typo "external"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing_rules.divisions import national

if TYPE_CHECKING:
    from routing_rules.ruleset import RuleSet


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
