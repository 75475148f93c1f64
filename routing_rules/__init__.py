"""The routing directory and rules: YAML data plus the pure code that reads and applies it.

Typical use::

    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    decision = ruleset.route(facts)
    problems = check_ruleset(ruleset)

Nothing here does I/O beyond reading the rules directory, and nothing imports Temporal.
"""

from __future__ import annotations

from pathlib import Path

from routing_rules.check import check_directory, check_ruleset
from routing_rules.directory import Directory, Placement
from routing_rules.errors import RulesError
from routing_rules.explain import assignment_to_dict, decision_to_dict
from routing_rules.loader import FILE_NAMES, load_ruleset
from routing_rules.ruleset import RuleSet

DEFAULT_RULES_DIR = Path(__file__).parent / "guangzhou"
"""The sample deployment shipped as package data."""

__all__ = [
    "DEFAULT_RULES_DIR",
    "FILE_NAMES",
    "Directory",
    "Placement",
    "RuleSet",
    "RulesError",
    "assignment_to_dict",
    "check_directory",
    "check_ruleset",
    "decision_to_dict",
    "load_ruleset",
]
