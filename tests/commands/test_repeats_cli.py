"""`appeals open` with a repeat call and `appeals clusters` against a real stack
(Temporal dev server, worker, the API served): the match is printed and a choice
required, one line and exit 1 without it; merged with --repeat-of; clusters listed."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from routing_rules import DEFAULT_RULES_DIR
from settings import Settings
from tests.commands.conftest import Appeals
from tests.conftest import eventually
from tests.frontdoor import FrontDoor, front_door, served

RIDER = (
    "--name", "王小明", "--phone", "13800138001", "--occupation", "rider",
    "--platform", "meituan", "--category", "wage_arrears", "--summary", "配送站拖欠两个月工资",
    "--residence", "440106", "--workplace", "440106",
)  # fmt: skip


@pytest_asyncio.fixture
async def door(
    dev_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FrontDoor, str]]:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    rule = f"c{uuid.uuid4().hex[:8]}"  # this test's own cluster ids on the shared server
    (rules / "clusters.yaml").write_text(
        f"clusters:\n  - {{id: {rule}, key: platform, threshold: 2, window: 7d}}\n"
    )
    async with front_door(dev_env, settings.model_copy(update={"rules_dir": rules})) as d:
        async with served(d.app) as base:
            yield d, base


async def cli(appeals: Appeals, base: str, token: str, *args: str, code: int = 0) -> Any:
    # In a thread: the worker and the API the command calls run on this loop.
    return await asyncio.to_thread(
        appeals, *args, code=code, APPEALS_API_URL=base, APPEALS_TOKEN=token
    )


async def test_open_asks_for_a_choice_on_a_repeat_call(
    appeals: Appeals, door: tuple[FrontDoor, str]
) -> None:
    d, base = door
    clerk = await d.token("clerk.li")
    first = (await cli(appeals, base, clerk, "open", *RIDER)).stdout.strip()
    assert first.startswith("AP-")

    refused = await cli(appeals, base, clerk, "open", *RIDER, code=1)
    assert f"this call repeats {first} (open; same phone)" in refused.stderr
    assert "--repeat-of" in refused.stderr and "--not-repeat" in refused.stderr
    assert "13800138001" not in refused.stderr

    merged = await cli(appeals, base, clerk, "open", *RIDER, "--repeat-of", first)
    assert merged.stdout.strip() == first and "merged into open case" in merged.stderr
    shown = json.loads((await cli(appeals, base, clerk, "show", first, "--json")).stdout)
    assert shown["priority"] == 1
    assert [e["action"] for e in shown["timeline"]].count("repeat") == 1

    # A separate matter for the same worker, said so: a second case, and a cluster of two.
    other = await cli(appeals, base, clerk, "open", *RIDER, "--not-repeat")
    second = other.stdout.strip()
    assert second not in ("", first)

    sup = await d.token("sup.zhang")

    async def listed() -> list[dict[str, Any]] | None:
        rows = json.loads((await cli(appeals, base, sup, "clusters", "--json")).stdout)
        # Members are projected after the cluster's status: wait for both cases.
        return list(rows) if [r["size"] for r in rows] == [2] else None

    [cluster] = await eventually(listed, timeout=60)
    assert cluster["status"] == "formed" and cluster["size"] == 2
    assert {m["case_id"] for m in cluster["members"]} == {first, second}
    table = (await cli(appeals, base, sup, "clusters")).stdout
    assert cluster["id"] in table and "美团" in table
