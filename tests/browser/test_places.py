"""The intake form's address in a real browser: a district name two cities share is
shown as a choice; the clerk picks 广州's and the case goes to 白云区's office."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from services.cases import show_case
from tests.browser.conftest import screenshot
from tests.browser.test_screens import Site, site  # noqa: F401  (the fixture)
from tests.conftest import eventually
from tests.frontdoor import INTAKE


async def test_a_clerk_chooses_among_the_places_an_address_may_mean(
    page: Page,
    site: Site,  # noqa: F811
) -> None:
    await site.log_in(page, "clerk.li", "/cases/new")
    await page.get_by_label("姓名").fill(INTAKE["name"])
    await page.get_by_label("联系电话").fill(INTAKE["phone"])
    await page.get_by_label("职业").select_option(INTAKE["occupation"])
    await page.get_by_label("诉求类别").select_option(label="拖欠劳动报酬")
    await page.get_by_label("诉求描述").fill(INTAKE["summary"])
    await page.get_by_label("居住地").select_option(label="天河区（全区）")
    await page.get_by_label("工作地地址（按劳动者所说）").fill("白云区三元里大道")
    await page.get_by_role("button", name="受理并分办").click()

    choice = page.get_by_role("group", name="请确认工作地")
    await expect(choice).to_be_visible()
    await expect(choice).to_contain_text("地址中的地名对应多个地方")
    await expect(page.get_by_label("广东省广州市白云区（440111）")).not_to_be_checked()
    await expect(page.get_by_label(re.compile("贵州省贵阳市白云区"))).to_be_visible()
    await expect(page.get_by_label("姓名")).to_have_value(INTAKE["name"])  # nothing lost
    await screenshot(page, "clerk_intake_address_choice")

    await page.get_by_label("广东省广州市白云区（440111）").check()
    await page.get_by_role("button", name="受理并分办").click()
    await page.wait_for_url(re.compile(r"/cases/AP-"))
    case_id = page.url.rsplit("/", 1)[1]

    async def routed() -> bool:
        await page.reload()
        return "白云区人力资源和社会保障局" in await page.locator("table.tasks").inner_text()

    await eventually(routed)
    await screenshot(page, "clerk_case_from_address")
    case = show_case(site.door.ctx, site.who("clerk.li"), case_id)
    assert case["workplace"] == "440111"
