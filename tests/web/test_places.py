"""The intake form's address fields (httpx over ASGI, real stack): the places an address
may mean are shown as a choice and nothing is opened until the clerk picks one; an
unknown code is an inline error that keeps what was typed."""

from __future__ import annotations

import re

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor
from tests.web.pages import logged_in


def radios(page: str, name: str) -> list[tuple[str, bool]]:
    """The (value, checked) of the radio buttons called ``name``."""
    found = re.findall(rf'<input type="radio"[^>]*name="{name}" value="(\d+)"([^>]*)>', page)
    return [(value, "checked" in rest) for value, rest in found]


async def test_an_ambiguous_address_is_a_choice_and_the_choice_opens_the_case(
    door: FrontDoor,
) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        page = await c.get("/cases/new")
        assert 'name="workplace_address"' in page.text and 'name="incident_address"' in page.text
        form = {k: v for k, v in INTAKE.items() if k != "workplace"}
        form |= {
            "workplace_address": "白云区三元里大道",
            "request_id": door.rid("addr-1"),
            "csrf": csrf,
        }
        r = await c.post("/cases/new", data=form)
        assert r.status_code == 422
        assert "请确认工作地" in r.text and "地址中的地名对应多个地方" in r.text
        assert radios(r.text, "workplace") == [("440111", False), ("520113", False)]
        assert "贵州省贵阳市白云区（520113，本市以外：转当地热线）" in r.text
        assert 'value="白云区三元里大道"' in r.text  # what was typed is kept

        ok = await c.post("/cases/new", data=form | {"workplace": "440111"})
        assert ok.status_code == 303 and ok.headers["location"].startswith("/cases/")

        async def shown() -> str | None:
            case = await c.get(ok.headers["location"])
            return case.text if "白云区人力资源和社会保障局" in case.text else None

        await eventually(shown)


async def test_a_single_proposal_is_checked_but_still_confirmed(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        form = INTAKE | {
            "workplace_address": "广州市黄埔区科学城开源大道11号",
            "request_id": door.rid("addr-2"),
            "csrf": csrf,
        }
        del form["workplace"]
        r = await c.post("/cases/new", data=form)
        assert r.status_code == 422  # not opened: shown for confirmation
        assert "根据地址识别出以下属地，请确认" in r.text
        assert radios(r.text, "workplace") == [("440112", True)]


async def test_an_unknown_code_is_an_inline_error(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        form = INTAKE | {"incident": "440199", "request_id": door.rid("addr-3"), "csrf": csrf}
        r = await c.post("/cases/new", data=form)
        assert r.status_code == 422 and 'role="alert"' in r.text
        assert "incident region 440199 is not a current GB/T 2260 division" in r.text
        assert "440118 广东省广州市增城区" in r.text


async def test_our_city_alone_leaves_the_district_to_the_picker(door: FrontDoor) -> None:
    async with logged_in(door, "clerk.li") as (c, csrf):
        form = INTAKE | {
            "workplace_address": "广州市天河路208号",
            "request_id": door.rid("addr-4"),
            "csrf": csrf,
        }
        del form["workplace"]
        r = await c.post("/cases/new", data=form)
        assert r.status_code == 422 and "地址只说到城市，请从列表中选择区" in r.text
        assert radios(r.text, "workplace") == []
        assert '<select id="workplace" name="workplace">' in r.text
