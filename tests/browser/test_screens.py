"""The screens in a real browser over a real stack: a Temporal dev server, the worker,
the app served by uvicorn, Debian's Chromium. Each flow leaves screenshots in
tests/browser/screenshots/ for a person to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from playwright.async_api import Page, ViewportSize, expect
from temporalio.testing import WorkflowEnvironment

from auth.identity import Principal, principal_for
from models.tasks import TaskState
from services.cases import show_case
from services.supervision import overdue
from services.tasks import act_on_task
from settings import Settings
from tests.browser.conftest import screenshot
from tests.conftest import eventually
from tests.frontdoor import INTAKE, PASSWORD, FrontDoor, front_door, served
from tests.web.pages import lead_task, open_and_route
from workflows.department_task import DepartmentTaskWorkflow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 768}


@pytest_asyncio.fixture(loop_scope="session")
async def site(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Site]:
    async with front_door(dev_env, settings) as door, served(door.app) as base:
        yield Site(door, base)


class Site:
    def __init__(self, door: FrontDoor, base: str) -> None:
        self.door, self.base = door, base

    def who(self, staff_id: str) -> Principal:
        p = principal_for(self.door.ctx.rules, staff_id)
        assert p is not None
        return p

    async def log_in(self, page: Page, staff_id: str, lands_on: str) -> None:
        await page.goto(f"{self.base}/login")
        await page.get_by_label("用户名").fill(staff_id)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url(f"{self.base}{lands_on}")


async def test_a_clerk_opens_a_case_through_the_form(page: Page, site: Site) -> None:
    await site.log_in(page, "clerk.li", "/cases/new")
    await expect(page.get_by_role("heading", name="受理诉求")).to_be_visible()
    await page.get_by_label("姓名").fill(INTAKE["name"])
    await page.get_by_label("联系电话").fill(INTAKE["phone"])
    await page.get_by_label("职业").select_option(INTAKE["occupation"])
    await page.get_by_label("平台企业").select_option(INTAKE["platform"])
    await page.get_by_label("诉求类别").select_option(label="拖欠劳动报酬")
    await page.get_by_label("诉求描述").fill(INTAKE["summary"])
    await page.get_by_label("居住地").select_option(label="天河区（全区）")
    await page.get_by_label("工作地", exact=True).select_option(INTAKE["workplace"])
    await screenshot(page, "clerk_intake")
    await page.get_by_role("button", name="受理并分办").click()
    await page.wait_for_url(re.compile(r"/cases/AP-"))
    case_id = page.url.rsplit("/", 1)[1]

    async def routed() -> bool:
        await page.reload()
        return "人力资源和社会保障局" in await page.locator("table.tasks").inner_text()

    await eventually(routed)
    await expect(page.get_by_role("heading", level=1)).to_contain_text(case_id)
    await expect(page.locator("dl.facts")).to_contain_text("王**")  # masked until revealed
    await expect(page.locator("p.summary").first).to_have_text(INTAKE["summary"])
    await screenshot(page, "clerk_case")
    case = show_case(site.door.ctx, site.who("clerk.li"), case_id)
    assert case["worker"]["name"] == "王**" and case["workplace"] == "440106"


async def _state(site: Site, task_id: str) -> TaskState:
    handle = (await site.door.ctx.client()).get_workflow_handle(task_id)
    state: TaskState = await handle.query(DepartmentTaskWorkflow.state)
    return state


async def test_the_lead_office_accepts_and_completes_in_the_browser(page: Page, site: Site) -> None:
    case = await open_and_route(site.door, "browser-lead-1", roles=("lead", "co"))
    lead = lead_task(case)
    co = next(t["id"] for t in case["tasks"] if t["role"] == "co")
    await site.log_in(page, "hrss.tianhe.wang", "/inbox")
    row = page.locator("table.tasks tbody tr", has_text=lead)
    await expect(row).to_contain_text("拖欠劳动报酬")
    await expect(row.locator(".clock").first).to_have_class(re.compile("clock-(green|amber)"))
    await screenshot(page, "handler_inbox")
    await page.set_viewport_size(PHONE)
    await screenshot(page, "handler_inbox_phone")
    await page.set_viewport_size(DESKTOP)
    await row.get_by_role("link", name=lead).click()
    await page.wait_for_url(f"{site.base}/tasks/{lead}")
    assert INTAKE["phone"] not in await page.content()
    await page.get_by_role("button", name="签收", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("已完成：签收。")

    # The union co-handles (协办): its opinion comes first, through the services.
    union: dict[str, Any] = {"outcome": "resolved", "reply": "工会已为劳动者提供法律咨询"}
    await act_on_task(site.door.ctx, site.who("union.tianhe.jin"), co, "accept", {})
    await act_on_task(site.door.ctx, site.who("union.tianhe.jin"), co, "complete", union)

    async def heard() -> bool:
        return not (await _state(site, lead)).waiting_for

    await eventually(heard)
    await page.get_by_label("办理结果").select_option("resolved")
    await page.get_by_label("答复内容").fill("已责令配送站补发两个月工资，劳动者已确认收到")
    await screenshot(page, "handler_task")
    await page.get_by_role("button", name="办结答复").click()
    await expect(page.get_by_role("status")).to_have_text("已完成：办结答复。")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("已办结")
    await screenshot(page, "handler_task_done")

    await page.set_viewport_size(PHONE)
    await screenshot(page, "handler_task_phone")


async def test_a_supervisor_finds_an_overdue_task_on_the_board(page: Page, site: Site) -> None:
    # A drill case's sign-for clock runs one minute (routing_rules/.../sla_plans.yaml).
    case = await open_and_route(site.door, "browser-drill-1", sla_plan="drill")
    lead = lead_task(case)
    sup = site.who("sup.zhang")
    await site.log_in(page, "sup.zhang", "/board")
    await expect(page.locator("#board-lists")).to_contain_text(lead)

    async def late() -> bool:
        return any(r["task"] == lead for r in overdue(site.door.ctx, sup))

    await eventually(late, timeout=150)
    await page.reload()
    late_list = page.locator("section", has=page.get_by_role("heading", name=re.compile("已超期")))
    row = late_list.locator("tbody tr", has_text=lead)
    await expect(row).to_contain_text("签收")
    await expect(row).to_contain_text("拖欠劳动报酬")
    await screenshot(page, "supervisor_board")

    # Filters swap the lists in place (htmx); a category without the case empties them.
    filters = page.get_by_role("search", name="筛选")
    await filters.get_by_label("类别").select_option(label="住房保障")
    await expect(page.locator("#board-lists")).not_to_contain_text(lead)
    await filters.get_by_label("类别").select_option(label="拖欠劳动报酬")
    await expect(late_list.locator("tbody tr", has_text=lead)).to_be_visible()
    await filters.get_by_label("部门").select_option(label="人力资源和社会保障局")
    await expect(late_list.locator("tbody tr", has_text=lead)).to_be_visible()
    assert page.url.endswith("/board")  # swapped in place, not a new page
    await screenshot(page, "supervisor_board_filtered")
