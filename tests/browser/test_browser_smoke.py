"""Smoke test of the browser setup: Debian's Chromium opens a page with Chinese text
served on 127.0.0.1, and renders it (fonts-noto-cjk gives real glyphs, not boxes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot

TITLE = "行政复议申请"
BODY = "申请人已提交材料，请在十五个工作日内答复。"
HTML = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title></head>
<body style="font-size:32px;margin:40px">
<h1>{TITLE}</h1><p id="body">{BODY}</p><p>ASCII: Appeal #42</p>
</body></html>""".encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(HTML)))
        self.end_headers()
        self.wfile.write(HTML)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_chinese_page_renders(page: Page, site: str) -> None:
    await page.goto(site)
    await expect(page).to_have_title(TITLE)
    await expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    await expect(page.locator("#body")).to_have_text(BODY)
    assert await page.evaluate("navigator.language") == "zh-CN"
    assert await page.evaluate("[innerWidth, innerHeight]") == [1366, 768]
    path = await screenshot(page, "smoke_chinese")
    assert path.stat().st_size > 0
