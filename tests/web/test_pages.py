"""The web screens over a real stack (httpx over ASGI): sessions, CSRF, escaping,
and that no page shows what the viewer's role may not see."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor
from tests.web.pages import lead_task, logged_in, open_and_route

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


async def test_pages_need_a_session(door: FrontDoor) -> None:
    async with door.client() as c:
        for path in (
            "/",
            "/inbox",
            "/board",
            "/report",
            "/cases/new",
            "/tasks/AP-X-T1",
            "/platform",
        ):
            r = await c.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        r = await c.get("/inbox", headers={"HX-Request": "true"})
        assert r.headers["HX-Redirect"] == "/login"
        page = await c.get("/login")
        assert page.status_code == 200 and 'lang="zh-CN"' in page.text
        assert (await c.get("/static/app.css")).status_code == 200


async def test_login_sets_a_strict_httponly_cookie_and_logout_revokes_it(door: FrontDoor) -> None:
    async with door.client() as c:
        wrong = await c.post("/login", data={"username": "clerk.li", "password": "nope"})
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        assert "Traceback" not in wrong.text
    async with logged_in(door, "hrss.tianhe.wang") as (c, csrf):
        r = await c.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        token = c.cookies.get("appeals_session")
        assert token
        r = await c.post("/logout", data={"csrf": csrf})
        assert r.status_code == 303
        assert 'appeals_session=""' in r.headers["set-cookie"]
        # The token itself is revoked, not just forgotten by this browser.
        c.cookies.set("appeals_session", token)
        assert (await c.get("/inbox")).headers["location"] == "/login"
    async with door.client() as c:
        r = await c.post("/login", data={"username": "clerk.li", "password": "dev-password-2026"})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


async def test_a_post_without_the_csrf_token_is_refused(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        form = INTAKE | {"request_id": door.rid("csrf-1")}
        for sent in (form, form | {"csrf": "0" * 32}):
            r = await c.post("/cases/new", data=sent)
            assert r.status_code == 403 and "CSRF" in r.text
        r = await c.post("/logout", data={})
        assert r.status_code == 403
        # The htmx header counts as well as the form field.
        ok = await c.post("/cases/new", data=form, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 303 and ok.headers["location"].startswith("/cases/")
        again = await c.post("/cases/new", data=form | {"csrf": csrf})
        assert again.headers["location"] == ok.headers["location"]  # one case, not two


async def test_the_intake_form_keeps_the_values_and_says_what_was_wrong(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        page = await c.get("/cases/new")
        assert 'name="request_id"' in page.text and "天河区" in page.text
        assert "拖欠劳动报酬" in page.text and "外卖骑手" in page.text
        rid = door.rid("bad-1")
        bad = INTAKE | {"phone": "12345", "request_id": rid, "csrf": csrf}
        r = await c.post("/cases/new", data=bad)
        assert r.status_code == 422
        assert "phone" in r.text and 'role="alert"' in r.text
        assert html.escape(INTAKE["summary"]) in r.text and f'value="{rid}"' in r.text


async def test_user_text_is_escaped_on_the_case_and_task_pages(door: FrontDoor) -> None:
    case = await open_and_route(door, "xss-1", summary=EVIL)
    task_id = lead_task(case)
    escaped = html.escape(EVIL, quote=False)
    async with logged_in(door, "clerk.li") as (c, _):
        r = await c.get(f"/cases/{case['id']}")
        assert r.status_code == 200
        assert EVIL not in r.text and "<script>alert" not in r.text and "<img src=x" not in r.text
        assert escaped in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
    async with logged_in(door, "hrss.tianhe.wang") as (c, _):
        r = await c.get(f"/tasks/{task_id}")
        assert r.status_code == 200
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        assert escaped in r.text
        inbox = await c.get("/inbox")
        assert task_id in inbox.text and "<script>alert" not in inbox.text


async def test_a_liaison_sees_no_personal_data(door: FrontDoor) -> None:
    await open_and_route(
        door,
        "liaison-1",
        category="platform_penalty",
        platform="yangcheng_run",
        summary="平台无故罚款五百元，申诉无人处理",
    )
    async with logged_in(door, "yangcheng_run.liaison.tang") as (c, _):

        async def listed() -> str | None:
            r = await c.get("/platform")
            return r.text if "平台无故罚款" in r.text else None

        text = await eventually(listed)
        assert "liaison-reply" in text
        for personal in (INTAKE["name"], INTAKE["phone"], "138****8001", "王**"):
            assert personal not in text
        task_id = text.split('href="/tasks/', 1)[1].split('"', 1)[0]
        task = await c.get(f"/tasks/{task_id}")
        assert task.status_code == 200
        assert INTAKE["name"] not in task.text and INTAKE["phone"] not in task.text
        assert "查看诉求人联系方式" not in task.text
        assert (await c.get("/cases/" + task_id.rsplit("-", 1)[0])).status_code == 403


async def test_another_office_gets_403_and_an_unknown_task_404(door: FrontDoor) -> None:
    case = await open_and_route(door, "scope-1")
    task_id = lead_task(case)
    async with logged_in(door, "hrss.panyu.feng") as (c, csrf):
        r = await c.get(f"/tasks/{task_id}")
        assert r.status_code == 403 and "outside your scope" in r.text
        assert INTAKE["summary"] not in r.text
        r = await c.post(f"/tasks/{task_id}/act/accept", data={"csrf": csrf})
        assert r.status_code == 403
        assert (await c.get("/tasks/AP-NOSUCH-T1")).status_code == 404
        # A handler reads their tasks, not the office's assessment (report.read).
        assert (await c.get("/report")).status_code == 403
        assert (await c.get(f"/cases/{case['id']}")).status_code == 403
        assert (await c.get("/board")).status_code == 403
    async with logged_in(door, "hrss.tianhe.li") as (c, _):  # the office's head does
        page = await c.get("/report")
        assert page.status_code == 200 and "考核报表" in page.text
        drill = await c.get("/report/drill", params={"key": "hrss.tianhe", "metric": "received"})
        assert drill.status_code == 200 and "共 " in drill.text


async def test_the_lead_accepts_and_a_refusal_is_shown_on_the_page(door: FrontDoor) -> None:
    case = await open_and_route(door, "act-1")
    task_id = lead_task(case)
    async with logged_in(door, "hrss.tianhe.wang") as (c, csrf):
        page = (await c.get(f"/tasks/{task_id}")).text
        assert "/act/accept" in page and "查看诉求人联系方式" in page
        assert INTAKE["phone"] not in page
        early: dict[str, Any] = {"csrf": csrf, "outcome": "resolved", "reply": "已处理完毕"}
        r = await c.post(f"/tasks/{task_id}/act/complete", data=early)
        assert r.status_code == 409 and 'role="alert"' in r.text
        r = await c.post(f"/tasks/{task_id}/act/accept", data={"csrf": csrf})
        assert r.status_code == 303
        shown = (await c.get(r.headers["location"])).text
        assert "已完成：签收" in shown and "办理中" in shown
        r = await c.post(f"/tasks/{task_id}/reveal", data={"csrf": csrf, "reason": "电话联系"})
        assert r.status_code == 200 and INTAKE["phone"] in r.text


async def test_the_board_and_its_partial_lists(door: FrontDoor) -> None:
    case = await open_and_route(door, "board-1", sla_plan="drill")
    task_id = lead_task(case)
    async with logged_in(door, "sup.zhang") as (c, _):
        r = await c.get("/")
        assert r.headers["location"] == "/board"
        board = await c.get("/board")
        assert board.status_code == 200
        assert "已超期" in board.text and "即将到期" in board.text and "退单统计" in board.text
        assert task_id in board.text  # a drill's clocks run in minutes: soon due, or late
        part = await c.get("/board/lists", params={"category": "wage_arrears"})
        assert part.status_code == 200 and "<html" not in part.text and task_id in part.text
        other = await c.get("/board/lists", params={"category": "housing"})
        assert task_id not in other.text
        typo = await c.get("/board/lists", params={"department": "hrs"})
        assert typo.status_code == 200 and "筛选条件有误" in typo.text


async def test_the_clerk_sees_the_callback_queue(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, _):
        r = await c.get("/callbacks")
        assert r.status_code == 200 and "待回访诉求" in r.text
    async with logged_in(door, "hrss.tianhe.wang") as (c, _):
        assert (await c.get("/callbacks")).status_code == 403
        assert (await c.get("/admin")).status_code == 403


async def test_login_from_another_site_and_odd_csrf_bytes_are_refused(door: FrontDoor) -> None:
    async with door.client() as c:
        r = await c.post(
            "/login",
            data={"username": "clerk.li", "password": "dev-password-2026"},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 403 and "appeals_session" not in r.headers.get("set-cookie", "")
    async with logged_in(door, "clerk.li") as (c, _):
        r = await c.post("/logout", data={"csrf": "é" * 32})
        assert r.status_code == 403 and "Traceback" not in r.text


async def test_a_done_banner_shows_only_known_actions(door: FrontDoor) -> None:
    case = await open_and_route(door, "banner-1")
    async with logged_in(door, "clerk.li") as (c, _):
        r = await c.get(f"/cases/{case['id']}", params={"done": "请立即致电4001234567"})
        assert r.status_code == 200 and "4001234567" not in r.text


async def test_a_form_sent_twice_is_one_action(door: FrontDoor) -> None:
    """A double click, or the browser sending the form again: each rendered form carries
    its own Idempotency-Key, so the second send is the first one's answer."""
    case = await open_and_route(door, "twice-1")
    task_id = lead_task(case)
    async with logged_in(door, "hrss.tianhe.wang") as (c, csrf):
        assert (
            await c.post(f"/tasks/{task_id}/act/accept", data={"csrf": csrf})
        ).status_code == 303
        page = (await c.get(f"/tasks/{task_id}")).text
        form = page[page.index(f'action="/tasks/{task_id}/act/note"') :]
        key = re.search(r'name="action_key" value="([0-9a-f]{32})"', form)
        assert key is not None
        sent = {"csrf": csrf, "action_key": key.group(1), "text": "已约谈站长"}
        for _ in range(2):
            r = await c.post(f"/tasks/{task_id}/act/note", data=sent)
            assert r.status_code == 303, r.text
        shown = (await c.get(f"/tasks/{task_id}")).text
        assert shown.count("已约谈站长") == 1
        # A key that is not one of ours is refused on the page, and nothing is recorded.
        bad = sent | {"action_key": "<x>", "text": "另一条"}
        r = await c.post(f"/tasks/{task_id}/act/note", data=bad)
        assert r.status_code == 422 and "Idempotency-Key" in r.text
        assert "另一条" not in (await c.get(f"/tasks/{task_id}")).text


async def test_a_case_form_sent_twice_is_one_action(door: FrontDoor) -> None:
    """The same for a case's forms: a 督办 sent twice from one rendered form is one."""
    case = await open_and_route(door, "twice-case-1")
    async with logged_in(door, "sup.zhang") as (c, csrf):
        page = (await c.get(f"/cases/{case['id']}")).text
        form = page[page.index(f'action="/cases/{case["id"]}/act/urge"') :]
        key = re.search(r'name="action_key" value="([0-9a-f]{32})"', form)
        assert key is not None
        sent = {"csrf": csrf, "action_key": key.group(1), "text": "请本周内办结"}
        for _ in range(2):
            r = await c.post(f"/cases/{case['id']}/act/urge", data=sent)
            assert r.status_code == 303, r.text
        shown = (await c.get(f"/cases/{case['id']}")).text
        assert shown.count("请本周内办结") == 1
