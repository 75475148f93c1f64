"""The Temporal Web UI reads a case's history through our codec endpoint, in Chromium,
on a real `appeals dev` stack: the dev server's UI is pointed at the endpoint
(``--ui-codec-endpoint``), an administrator logs in to the web screens, and the UI,
told to include cross-origin credentials, shows the case's input decoded. A clerk's
session, in the same UI, gets ciphertext."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, expect

from tests.browser.conftest import LOCALE, VIEWPORT_HEIGHT, VIEWPORT_WIDTH, screenshot
from tests.e2e.test_cli_on_dev_stack import DEV_PASSWORD, Cli, DevStack, free_base_port
from tests.frontdoor import INTAKE

PHONE = INTAKE["phone"]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevStack]:
    stack = DevStack(tmp_path, free_base_port(), Cli(tmp_path))
    stack.start()
    try:
        yield stack
    finally:
        if stack.proc is not None:
            stack.stop()


def urls(dev: DevStack) -> tuple[str, str]:
    return f"http://127.0.0.1:{dev.port + 3}", f"http://127.0.0.1:{dev.port + 1000}"


async def open_case(api: str) -> str:
    async with httpx.AsyncClient(base_url=api) as c:
        r = await c.post("/api/v1/token", data={"username": "clerk.li", "password": DEV_PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await c.post(
            "/api/v1/cases", json=INTAKE | {"request_id": "codec-ui-1"}, headers=headers
        )
        assert r.status_code == 201, r.text
        return str(r.json()["case_id"])


async def log_in(page: Page, api: str, staff_id: str) -> None:
    """The web screens' own login: its session cookie is what the UI will send."""
    await page.goto(f"{api}/login")
    await page.fill("input[name=username]", staff_id)
    await page.fill("input[name=password]", DEV_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).not_to_have_url(f"{api}/login")


async def include_credentials(page: Page, endpoint: str) -> None:
    """The UI's Codec Server dialog: this browser's endpoint, with "include cross-origin
    credentials" (the dev server offers no flag for it; a production UI sets
    TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true instead)."""
    await page.locator("[data-testid^=data-encoder-status]").first.click()
    await page.get_by_test_id("use-local-endpoint-input").check()
    await page.locator("#data-encoder-endpoint-input").fill(endpoint)
    await page.get_by_test_id("data-encoder-include-credentials").check()
    await page.locator("[data-testid=confirm-modal-button]:visible").click()


def decoding(response: Response) -> bool:
    return "/api/v1/codec/decode" in response.url and response.request.method == "POST"


def audit(dev: DevStack) -> list[tuple[str, str, str | None, str]]:
    with sqlite3.connect(dev.data_dir / "appeals.db") as db:
        rows = db.execute("SELECT staff_id, via, origin, outcome FROM codec_access").fetchall()
    return [tuple(r) for r in rows]


async def test_an_administrator_reads_a_decoded_history_in_the_web_ui(
    dev: DevStack, browser: Browser
) -> None:
    api, ui = urls(dev)
    case_id = await open_case(api)
    history = f"{ui}/namespaces/default/workflows/{case_id}"

    async def session(staff_id: str) -> Page:
        context = await browser.new_context(
            viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT}, locale=LOCALE
        )
        page = await context.new_page()
        await log_in(page, api, staff_id)
        return page

    admin = await session("admin.ops")
    async with admin.expect_response(decoding) as refused:
        await admin.goto(history)
    # As the dev server configures it, the UI sends no credentials: refused, ciphertext.
    assert (await refused.value).status == 401
    await expect(admin.get_by_test_id("data-encoder-status-error")).to_be_visible()
    assert PHONE not in await admin.content()

    await include_credentials(admin, f"{api}/api/v1/codec")
    async with admin.expect_response(decoding) as answered:
        await admin.reload()
    assert (await answered.value).status == 200
    await expect(admin.get_by_text(f'"{PHONE}"').first).to_be_visible(timeout=30_000)
    await expect(admin.get_by_text('"王小明"').first).to_be_visible()
    path = await screenshot(admin, "codec_ui_decoded")
    assert path.stat().st_size > 0
    await admin.context.close()

    clerk = await session("clerk.li")
    await clerk.goto(history)
    await include_credentials(clerk, f"{api}/api/v1/codec")
    async with clerk.expect_response(decoding) as forbidden:
        await clerk.reload()
    assert (await forbidden.value).status == 403
    await expect(clerk.get_by_test_id("data-encoder-status-error")).to_be_visible()
    assert PHONE not in await clerk.content()
    await screenshot(clerk, "codec_ui_clerk_refused")
    await clerk.context.close()

    rows = audit(dev)
    assert rows and set(rows) == {("admin.ops", "cookie", ui, "ok")}
