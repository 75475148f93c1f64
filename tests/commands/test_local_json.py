"""`appeals rules check` and `appeals sla due` are local and take --json, like every
read command; a broken calendar.yaml fails `rules check`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from settings import Settings
from tests.commands.conftest import APPEALS


def appeals(*args: str, rules_dir: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"APPEALS_RULES_DIR": str(rules_dir), "APPEALS_DATA_DIR": str(rules_dir)}
    return subprocess.run(
        [APPEALS, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(Settings().rules_dir, target)
    return target


def test_rules_check_json(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    done = appeals("rules", "check", "--json", rules_dir=rules)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["problems"] == [] and data["rules"] > 0

    (rules / "calendar.yaml").write_text("years: [not, a, mapping]\n", encoding="utf-8")
    done = appeals("rules", "check", "--json", rules_dir=rules)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert [p.split(":")[0] for p in data["problems"]] == ["calendar.yaml"]
    assert len(done.stderr.strip().splitlines()) == 1

    plain = appeals("rules", "check", rules_dir=rules)
    assert plain.returncode == 1 and "calendar.yaml" in plain.stdout


def test_sla_due_json(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    done = appeals(
        "sla",
        "due",
        "--start",
        "2026-09-30T10:00+08:00",
        "--period",
        "5wd",
        "--json",
        rules_dir=rules,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["period"] == "5wd" and data["start"] == "2026-09-30T10:00:00+08:00"
    # National Day (10-01..10-08 in 2026) is not counted.
    assert data["due_at"].startswith("2026-10-1")
