"""The one error a rules directory raises when it cannot be used."""

from __future__ import annotations

from collections.abc import Iterable


class RulesError(Exception):
    """A rules directory is broken; one line per problem, each naming file, entry and problem.

    Example line: ``rules.yaml: rule 'labour': unknown department 'hrs'``.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
