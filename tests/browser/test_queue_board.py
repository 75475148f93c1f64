"""The supervisor's board and the clerk's callback page in a real browser, with the
queues and their clocks: dispatch review (审核时限), extension requests, callbacks
(回访时限). Screenshots: tests/browser/screenshots/queues-*.png."""

from __future__ import annotations

from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.api.queue_cases import queue_cases, queues_show
from tests.browser.conftest import screenshot
from tests.browser.test_screens import Site
from tests.frontdoor import front_door, served


async def test_the_board_shows_each_queue_with_its_clock(
    page: Page, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with front_door(dev_env, settings) as door, served(door.app) as base:
        site = Site(door, base)
        cases = await queue_cases(door)
        await queues_show(door, cases)
        await site.log_in(page, "sup.tianhe.ma", "/board")
        review = page.locator(
            "section", has=page.get_by_role("heading", name="派单审核：待指定承办单位")
        )
        await expect(review.get_by_role("link", name=cases.review_case)).to_be_visible()
        await expect(review.get_by_text("审核时限：")).to_be_visible()
        ext = page.locator("section", has=page.get_by_role("heading", name="延期申请"))
        await expect(ext.get_by_role("link", name=cases.extension_task)).to_be_visible()
        await expect(ext.get_by_text("申请延长 5wd")).to_be_visible()
        callbacks = page.locator("section", has=page.get_by_role("heading", name="待回访"))
        await expect(callbacks.get_by_role("link", name=cases.callback_case)).to_be_visible()
        await expect(callbacks.get_by_text("剩余").first).to_be_visible()
        await screenshot(page, "queues-board")

        await page.context.clear_cookies()
        await site.log_in(page, "clerk.huang", "/cases/new")
        await page.goto(f"{base}/callbacks")
        card = page.locator("article", has=page.get_by_role("link", name=cases.callback_case))
        await expect(card.get_by_text("回访时限：")).to_be_visible()
        await screenshot(page, "queues-callbacks")
