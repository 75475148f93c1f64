"""``appeals rules check``: what makes a rule set wrong even though it loads.

Besides the unknown codes ``load_ruleset`` already refuses, a rule set is wrong when a
rule can never match, two rules of equal priority can match the same case (file order
would decide silently), no rule catches what the others leave, a rule names a
department that has no office anywhere, an office has nobody to handle its tasks, a
rule gives street offices a matter the dispatch catalogue assigns to a department (the
2025 rules forbid pushing work down), or platform liaison tasks would reach a platform
nobody answers for.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from models.common import Occupation
from routing_rules.clusters import cluster_problems
from routing_rules.errors import RulesError
from routing_rules.loader import load_ruleset
from routing_rules.national_check import national_problems
from routing_rules.references import reference_problems
from routing_rules.ruleset import RuleSet
from routing_rules.schema import Match, Rule
from sla.calendar import CalendarFileError, load_overrides


def check_ruleset(ruleset: RuleSet) -> list[str]:
    """Every problem of the rule set, one line each; empty when it is sound."""
    return [
        *reference_problems(ruleset),
        *national_problems(ruleset),
        *_reachability_problems(ruleset),
        *_overlap_problems(ruleset.rules),
        *_catch_all_problems(ruleset),
        *_office_coverage_problems(ruleset),
        *_push_down_problems(ruleset),
        *_liaison_problems(ruleset),
    ]


def check_directory(directory: Path) -> list[str]:
    """Load ``directory`` and check it, its working-day calendar (``calendar.yaml``)
    included; load errors come back as problems, not raised."""
    ruleset: RuleSet | None = None
    try:
        ruleset = load_ruleset(directory)
    except RulesError as exc:
        problems = exc.problems
    else:
        problems = check_ruleset(ruleset)
    return problems + calendar_problems(directory) + cluster_problems(directory, ruleset)


def calendar_problems(directory: Path) -> list[str]:
    """The problems of ``calendar.yaml`` (a missing file is none: no overrides)."""
    path = directory / "calendar.yaml"
    try:
        load_overrides(path)
    except CalendarFileError as exc:
        # Named like the other files' problems: relative to the rules directory.
        return [" ".join(str(exc).replace(str(path), path.name, 1).split())]
    return []


def empty_condition(match: Match) -> str | None:
    """The name of a condition that no case can meet (an empty list), if any."""
    for name in ("categories", "occupations", "platforms", "keywords"):
        if getattr(match, name) == []:
            return name
    return None


def _subset(inner: list[str] | None, outer: list[str] | None) -> bool:
    """Whether every value allowed by ``inner`` is allowed by ``outer`` (None: any value)."""
    if outer is None:
        return True
    return inner is not None and set(inner) <= set(outer)


def covers(wide: Match, narrow: Match) -> bool:
    """Whether every case ``narrow`` matches is also matched by ``wide``."""
    wide_categories = None if wide.any_category else wide.categories
    narrow_categories = None if narrow.any_category else narrow.categories
    if not _subset(narrow_categories, wide_categories):
        return False
    if not _subset(_codes(narrow.occupations), _codes(wide.occupations)):
        return False
    if not _subset(narrow.platforms, wide.platforms):
        return False
    if wide.keywords is None:
        return True
    # A summary holding one of narrow's keywords holds one of wide's only when each of
    # narrow's keywords contains one of wide's.
    return narrow.keywords is not None and all(
        any(w.casefold() in n.casefold() for w in wide.keywords) for n in narrow.keywords
    )


def overlaps(a: Match, b: Match) -> bool:
    """Whether some case can match both (keywords never prevent it: a summary can hold both)."""

    def meet(x: list[str] | None, y: list[str] | None) -> bool:
        return x is None or y is None or bool(set(x) & set(y))

    return (
        meet(None if a.any_category else a.categories, None if b.any_category else b.categories)
        and meet(_codes(a.occupations), _codes(b.occupations))
        and meet(a.platforms, b.platforms)
    )


def is_catch_all(ruleset: RuleSet, match: Match) -> bool:
    every = Match(categories=list(ruleset.categories), occupations=list(Occupation))
    return covers(match, every)


def _codes(occupations: list[Occupation] | None) -> list[str] | None:
    return None if occupations is None else [str(o) for o in occupations]


def _reachability_problems(ruleset: RuleSet) -> list[str]:
    problems: list[str] = []
    for index, rule in enumerate(ruleset.rules):
        where = f"rules.yaml: rule {rule.id!r}"
        empty = empty_condition(rule.match)
        if empty is not None:
            problems.append(f"{where}: can never match: its {empty} list is empty")
            continue
        # Rules are tried in ruleset.rules order, so only earlier rules can shadow.
        shadow = next((r for r in ruleset.rules[:index] if covers(r.match, rule.match)), None)
        if shadow is not None:
            problems.append(
                f"{where}: can never match: rule {shadow.id!r} (priority {shadow.priority}) "
                f"is tried first and matches every case this one matches"
            )
    return problems


def _overlap_problems(rules: list[Rule]) -> list[str]:
    problems: list[str] = []
    for first, second in combinations(rules, 2):
        if first.priority != second.priority or not overlaps(first.match, second.match):
            continue
        if covers(first.match, second.match) or covers(second.match, first.match):
            continue  # reported as unreachable, or the narrower rule simply comes first
        if empty_condition(first.match) or empty_condition(second.match):
            continue
        problems.append(
            f"rules.yaml: rule {second.id!r}: ambiguous with rule {first.id!r}: both have "
            f"priority {first.priority} and can match the same case; give one a higher "
            "priority or make their matches disjoint"
        )
    return problems


def _catch_all_problems(ruleset: RuleSet) -> list[str]:
    if any(is_catch_all(ruleset, rule.match) for rule in ruleset.rules):
        return []
    return [
        "rules.yaml: no catch-all rule: add a fallback rule (兜底) with "
        "match: {categories: ['*']} and the lowest priority, so no case is left unrouted"
    ]


def _office_coverage_problems(ruleset: RuleSet) -> list[str]:
    problems: list[str] = []
    with_office = {office.department for office in ruleset.offices.values()}
    for rule in ruleset.rules:
        for department in [rule.lead.department, *(co.department for co in rule.co)]:
            if department in ruleset.departments and department not in with_office:
                problems.append(
                    f"rules.yaml: rule {rule.id!r}: department {department!r} has no office "
                    "in offices.yaml; every such case would fall back"
                )
    problems += [
        f"offices.yaml: office {office.id!r}: no handler in staff.yaml works there"
        for office in ruleset.offices.values()
        if not office.handlers
    ]
    return problems


def _push_down_problems(ruleset: RuleSet) -> list[str]:
    """Rules giving the street department (lead or co) a category the catalogue assigns
    to another department (2025 12345 rules: no pushing a department's work down)."""
    street = ruleset.deployment.street_department
    if street is None:
        return []
    street_name = ruleset.department_name(street)
    problems: list[str] = []
    for rule in ruleset.rules:
        if street not in (rule.lead.department, *(co.department for co in rule.co)):
            continue
        codes = list(ruleset.categories) if rule.match.any_category else rule.match.categories
        for code in codes:
            category = ruleset.categories.get(code)
            if category is None or category.owner in (None, street):
                continue
            problems.append(
                f"rules.yaml: rule {rule.id!r}: gives {code} to {street_name} ({street}), but "
                f"the catalogue assigns it to {category.owner}; the 2025 rules forbid pushing "
                "a department's work down to streets"
            )
    return problems


def _liaison_problems(ruleset: RuleSet) -> list[str]:
    """Platforms whose liaison tasks nobody could answer, when a rule creates such tasks."""
    if not any(rule.platform_liaison for rule in ruleset.rules):
        return []
    return [
        f"platforms.yaml: platform {code!r}: no liaison in staff.yaml names it (role: "
        f"liaison, platform: {code}); its liaison tasks would have nobody to answer"
        for code in ruleset.platforms
        if not ruleset.liaisons_of(code)
    ]
