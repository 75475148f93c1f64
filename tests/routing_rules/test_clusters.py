"""clusters.yaml: what `appeals rules check` says about it, and which clusters a case
joins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from routing_rules import DEFAULT_RULES_DIR, check_directory
from routing_rules.clusters import keys_for, load_cluster_rules


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def test_the_sample_clusters_check_and_key_cases() -> None:
    found, problems = load_cluster_rules(DEFAULT_RULES_DIR)
    assert problems == [] and [(r.id, r.threshold, r.window) for r in found] == [
        ("platform", 5, "7d"),
        ("place", 5, "7d"),
    ]
    keys = keys_for(found, category="wage_arrears", platform="meituan", place="440106")
    assert [k.cluster_id for k in keys] == [
        "CL-platform-wage_arrears-meituan",
        "CL-place-wage_arrears-440106",
    ]
    # Without a platform a case joins only the place's cluster.
    keys = keys_for(found, category="wage_arrears", platform=None, place="440106")
    assert [k.cluster_id for k in keys] == ["CL-place-wage_arrears-440106"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- {id: a, key: platform, threshold: 5, window: 5wd}", "must be in d, h or m"),
        ("- {id: a, key: platform, threshold: 1, window: 7d}", "threshold"),
        ("- {id: a, key: employer, threshold: 5, window: 7d}", "key"),
        ("- {id: a, key: place, threshold: 5, window: 100d}", "longer than 90d"),
        ("- {id: a, key: place, threshold: 5, window: 7d, categories: [nope]}", "'nope'"),
        (
            "- {id: a, key: place, threshold: 5, window: 7d}\n"
            "  - {id: a, key: platform, threshold: 5, window: 7d}",
            "appears twice",
        ),
    ],
)
def test_rules_check_refuses_a_bad_cluster_rule(rules: Path, text: str, problem: str) -> None:
    (rules / "clusters.yaml").write_text("clusters:\n  " + text + "\n")
    problems = check_directory(rules)
    assert len(problems) == 1 and problems[0].startswith("clusters.yaml"), problems
    assert problem in problems[0]


def test_no_clusters_file_no_clusters(rules: Path) -> None:
    (rules / "clusters.yaml").unlink()
    assert check_directory(rules) == []
    assert load_cluster_rules(rules) == ([], [])
