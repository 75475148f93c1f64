"""Helpers for editing copies of the sample rules directory and writing facts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from models.routing import RoutingFacts


def replace_text(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a file (fails loudly if it is not there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Load a YAML file, let ``change`` edit the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def rule_named(data: Any, rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return rule


def plan_named(data: Any, name: str) -> dict[str, Any]:
    plan: dict[str, Any] = next(p for p in data["plans"] if p["name"] == name)
    return plan


def facts(category: str, **fields: Any) -> RoutingFacts:
    """Facts of a rider living in 白云区 440111 and working in 天河区 440106, unless told."""
    values: dict[str, Any] = {
        "category": category,
        "occupation": "rider",
        "residence": "440111",
        "workplace": "440106",
    }
    values.update(fields)
    return RoutingFacts(**values)
