"""The supervisors' figures page in a real browser: ECharts draws every chart (a canvas
of real size), the table shows the figures worked out by hand, and a number opens the
tasks behind it. Screenshots: report_page.png, report_drill.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from playwright.async_api import Page, expect
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.facts import upsert
from settings import Settings
from tests.browser.conftest import screenshot
from tests.browser.test_screens import Site
from tests.frontdoor import front_door, served
from tests.reports.rows import DAY, row

END = DAY + timedelta(days=13)  # two weeks: 2 Nov (Monday) to 15 Nov


@pytest_asyncio.fixture(loop_scope="session")
async def site(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Site]:
    async with front_door(dev_env, settings) as door, served(door.app) as base:
        yield Site(door, base)


def seed(site: Site) -> None:
    rows = []
    # 天河: 8 tasks over two weeks, 6 signed on time of 8, 3 replies resolved of 4,
    # one breach at rung 2 and one at rung 1.
    for n in range(8):
        rows.append(
            row(
                n,
                day=DAY + timedelta(days=n),
                sign_state="on_time" if n < 6 else "late",
                sign_minutes=30 * (n + 1),
                reply_state="on_time" if n < 3 else ("late" if n < 4 else None),
                outcome=("resolved" if n < 3 else "unresolvable") if n < 4 else None,
                callback="satisfied" if n < 2 else None,
                max_rung=2 if n == 6 else (1 if n == 7 else 0),
            )
        )
    # 番禺: 4 tasks, all signed on time, one breach at rung 1.
    for n in range(4):
        rows.append(
            row(n, "hrss.panyu", day=DAY + timedelta(days=7 + n), sign_state="on_time",
                max_rung=1 if n == 0 else 0)
        )  # fmt: skip
    with Session(site.door.ctx.engine) as session:
        upsert(session, rows)
        session.commit()


async def test_a_supervisor_reads_the_charts_and_drills_down(page: Page, site: Site) -> None:
    seed(site)
    await site.log_in(page, "sup.zhang", "/board")
    await page.get_by_role("link", name="考核报表", exact=True).click()
    await page.wait_for_url(f"{site.base}/report")
    await page.goto(f"{site.base}/report?by=office&from={DAY}&to={END}")

    # Six charts, each drawn by ECharts into a canvas of real size.
    charts = page.locator("[data-chart]")
    await expect(charts).to_have_count(6)
    for i in range(6):
        canvas = charts.nth(i).locator("canvas")
        await expect(canvas).to_have_count(1)
        box = await canvas.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150, box
    # The canvas holds a drawing, not a blank: ECharts exports more than an empty PNG.
    drawn = await page.evaluate(
        "() => window.echarts.getInstanceByDom(document.getElementById('chart-sign_rate'))"
        ".getDataURL().length"
    )
    assert drawn > 5000

    tianhe = page.locator("table.figures tbody tr", has_text="天河区人社局")
    cells = tianhe.locator("td")
    await expect(cells.nth(0)).to_have_text("8")  # received
    await expect(cells.nth(1)).to_have_text("75.0%")  # 签收率 6 / 8
    await expect(cells.nth(2)).to_have_text("75.0%")  # 按时办结率 3 / 4
    await expect(cells.nth(3)).to_have_text("75.0%")  # 解决率 3 / 4
    await expect(cells.nth(4)).to_have_text("100.0%")  # 满意率 2 / 2
    panyu = page.locator("table.figures tbody tr", has_text="番禺区")
    await expect(panyu.locator("td").nth(1)).to_have_text("100.0%")
    await expect(panyu.locator("td").nth(2)).to_have_text("—")  # nothing was due
    await screenshot(page, "report_page")

    await cells.nth(1).get_by_role("link").click()  # 签收率 → its 8 tasks
    await page.wait_for_url(lambda url: "/report/drill" in url)
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_contain_text("天河区人力资源和社会保障局")
    await expect(heading).to_contain_text("共 8 件")
    rows = page.locator("table.tasks tbody tr")
    await expect(rows).to_have_count(8)
    signed = rows.locator("td[data-label='签收']")
    await expect(signed.filter(has_text="超时")).to_have_count(2)
    await expect(signed.filter(has_text="按时")).to_have_count(6)
    # Received on 9 Nov at 02:00 UTC: 10:00 in Shanghai.
    await expect(rows.first.locator("td[data-label='受理']")).to_have_text("2026-11-09 10:00")
    await expect(rows.first.get_by_role("link").first).to_have_attribute(
        "href", "/tasks/AP-hrss.tianhe-7-T1"
    )
    await screenshot(page, "report_drill")
