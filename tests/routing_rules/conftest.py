"""Fixtures: the sample rule set, and writable copies of the sample directory to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from routing_rules import DEFAULT_RULES_DIR, RuleSet, load_ruleset


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A copy of the sample deployment that a test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target
