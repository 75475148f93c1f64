"""Repeats and clusters in a real browser over a real stack: the intake form shows a
repeat call's match before anything is submitted, and the supervisor's board lists a
cluster (members, size, places, age) and designates its lead office (联合处置).
Screenshots: intake_repeat, board_cluster, board_cluster_designated."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from auth.identity import principal_for
from routing_rules import DEFAULT_RULES_DIR
from services.cases import open_case
from services.clusters import list_clusters
from settings import Settings
from tests.browser.conftest import screenshot
from tests.browser.test_screens import Site
from tests.conftest import eventually
from tests.frontdoor import INTAKE, front_door, served


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    dev_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> AsyncIterator[Site]:
    # A cluster rule of this test's own (the dev server is shared, and a cluster's
    # workflow id is its rule and key): two cases of one platform within a day.
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    rule = f"b{uuid.uuid4().hex[:8]}"
    (rules / "clusters.yaml").write_text(
        f"clusters:\n  - {{id: {rule}, key: platform, threshold: 2, window: 1d}}\n"
    )
    async with front_door(dev_env, settings.model_copy(update={"rules_dir": rules})) as door:
        async with served(door.app) as base:
            yield Site(door, base)


async def _open(site: Site, name: str, **fields: Any) -> str:
    clerk = principal_for(site.door.ctx.rules, "clerk.li")
    assert clerk is not None
    return await open_case(
        site.door.ctx, clerk, INTAKE | {"request_id": site.door.rid(name)} | fields
    )


async def test_the_board_lists_a_cluster_and_designates_its_lead(page: Page, site: Site) -> None:
    first = await _open(site, "cl-1")
    second = await _open(site, "cl-2", phone="13900139001", workplace="440105", residence="440105")
    sup = site.who("sup.zhang")

    async def formed() -> list[dict[str, Any]] | None:
        return list_clusters(site.door.ctx, sup) or None

    [cluster] = await eventually(formed)

    # The same rider calls again: the form shows the open case before anything is opened.
    await site.log_in(page, "clerk.li", "/cases/new")
    await page.get_by_label("姓名").fill(INTAKE["name"])
    await page.get_by_label("联系电话").fill(INTAKE["phone"])
    await page.get_by_label("职业").select_option(INTAKE["occupation"])
    await page.get_by_label("平台企业").select_option(INTAKE["platform"])
    await page.get_by_label("诉求类别").select_option(label="拖欠劳动报酬")
    await page.get_by_label("诉求描述").fill("再次来电：工资仍未支付")
    await page.get_by_label("居住地").select_option(label="天河区（全区）")
    await page.get_by_label("工作地", exact=True).select_option(INTAKE["workplace"])
    await page.get_by_role("button", name="受理并分办").click()
    repeat = page.get_by_role("group", name=re.compile("疑似重复来电"))
    await expect(repeat).to_contain_text(f"并入办理中的 {first}")
    await screenshot(page, "intake_repeat")
    await page.get_by_role("button", name="受理并分办").click()  # the first choice: merge
    await page.wait_for_url(f"{site.base}/cases/{first}")
    await page.context.clear_cookies()  # log out
    await site.log_in(page, "sup.zhang", "/board")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("集中诉求")))
    item = section.locator("article", has_text=cluster["id"])
    await expect(item).to_contain_text("2 件")
    await expect(item).to_contain_text("天河区")
    await expect(item).to_contain_text("海珠区")
    await expect(item).to_contain_text(first)
    await expect(item).to_contain_text(second)
    await expect(item).to_contain_text("已形成")
    await screenshot(page, "board_cluster")

    await item.get_by_label("牵头部门").select_option("hrss")
    await item.get_by_label("牵头单位所在地区").select_option("440100")
    await item.get_by_label("理由").fill("跨区集中欠薪，由市人社局牵头")
    await item.get_by_role("button", name=re.compile("指定牵头单位")).click()
    await page.wait_for_url(re.compile(r"/board\?done=cluster-designate"))
    item = page.locator("article", has_text=cluster["id"])
    await expect(item).to_contain_text("联合处置中")
    await expect(item).to_contain_text("广州市人力资源和社会保障局")
    await screenshot(page, "board_cluster_designated")
