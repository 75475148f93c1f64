"""Concentrated grievances (集中诉求): which cases form a cluster, from ``clusters.yaml``.

A cluster rule says which key the cases share (the category and the platform, or the
category and the place) and how many of them within which window make a cluster
(``threshold`` cases within ``window``, e.g. 5 in 7d). The file is optional: without it
no case joins a cluster. ``appeals rules check`` reports its problems with the others'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from routing_rules.ruleset import RuleSet
from sla.periods import Period, Unit

CLUSTERS_FILE = "clusters.yaml"
MAX_CLUSTER_WINDOW = timedelta(days=90)


class ClusterKey(StrEnum):
    platform = "platform"  # the category and the platform (美团 · 拖欠劳动报酬)
    place = "place"  # the category and the place (the incident place, else the workplace)


class ClusterRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=24)]
    key: ClusterKey
    threshold: int = Field(ge=2, le=10_000)
    window: str
    # Only these categories cluster under this rule; absent: every category.
    categories: list[str] | None = None

    @property
    def period(self) -> Period:
        return Period.parse(self.window)

    @property
    def window_delta(self) -> timedelta:
        p = self.period
        return timedelta(days=p.value) if p.unit is Unit.d else p.exact()


class ClusterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clusters: list[ClusterRule] = Field(default_factory=list)


@dataclass(frozen=True)
class ClusterKeyOf:
    """One cluster a case belongs in: its workflow id and what the key holds."""

    rule: ClusterRule
    cluster_id: str
    category: str
    platform: str | None
    place: str | None


def load_cluster_rules(directory: Path) -> tuple[list[ClusterRule], list[str]]:
    """The cluster rules of ``directory`` and the problems found reading them."""
    path = directory / CLUSTERS_FILE
    if not path.exists():
        return [], []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = ClusterFile.model_validate(raw)
    except yaml.YAMLError as e:
        return [], [f"{CLUSTERS_FILE}: YAML error: {' '.join(str(e).split())}"]
    except ValidationError as e:
        return [], [
            f"{CLUSTERS_FILE}: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
            for err in e.errors(include_url=False)
        ]
    problems: list[str] = []
    seen: set[str] = set()
    rules: list[ClusterRule] = []
    for i, rule in enumerate(parsed.clusters):
        where = f"{CLUSTERS_FILE}: clusters[{i}] ({rule.id})"
        if rule.id in seen:
            problems.append(f"{where}: id {rule.id!r} appears twice")
            continue
        seen.add(rule.id)
        try:
            period = rule.period
        except ValueError as e:
            problems.append(f"{where}: window: {e}")
            continue
        # A window is calendar time: a working-day window would stretch over holidays.
        if period.unit not in (Unit.d, Unit.h, Unit.m):
            problems.append(f"{where}: window {rule.window!r} must be in d, h or m")
            continue
        if rule.window_delta > MAX_CLUSTER_WINDOW:
            problems.append(f"{where}: window {rule.window!r} is longer than 90d")
            continue
        rules.append(rule)
    return rules, problems


def cluster_problems(directory: Path, ruleset: RuleSet | None) -> list[str]:
    """``appeals rules check``'s lines for clusters.yaml (the categories checked
    against the rule set when it loads)."""
    rules, problems = load_cluster_rules(directory)
    if ruleset is not None:
        for rule in rules:
            for code in rule.categories or []:
                if code not in ruleset.categories:
                    problems.append(
                        f"{CLUSTERS_FILE}: cluster rule {rule.id!r} names unknown category {code!r}"
                    )
    return problems


def keys_for(
    rules: list[ClusterRule], *, category: str, platform: str | None, place: str
) -> list[ClusterKeyOf]:
    """The clusters a case with these facts joins (a case without a platform joins no
    platform cluster)."""
    found = []
    for rule in rules:
        if rule.categories is not None and category not in rule.categories:
            continue
        if rule.key is ClusterKey.platform:
            if platform is None:
                continue
            value = platform
        else:
            value = place
        found.append(
            ClusterKeyOf(
                rule=rule,
                cluster_id=f"CL-{rule.id}-{category}-{value}",
                category=category,
                platform=platform if rule.key is ClusterKey.platform else None,
                place=place if rule.key is ClusterKey.place else None,
            )
        )
    return found
