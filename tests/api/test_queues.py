"""The queues through the API and the CLI, each in the reader's scope and with its
clock: dispatch review, extension requests, callbacks, and the board's counts."""

from __future__ import annotations

import asyncio
import json
from asyncio.subprocess import PIPE

from tests.api.queue_cases import queue_cases, queues_show
from tests.commands.conftest import APPEALS
from tests.frontdoor import FrontDoor, served


async def test_each_queue_shows_its_cases_in_scope_with_their_clocks(door: FrontDoor) -> None:
    cases = await queue_cases(door)
    await queues_show(door, cases)
    async with await door.as_user("sup.tianhe.ma") as sup:
        (review,) = (await sup.get("/api/v1/supervision/review")).json()
        assert review["case"] == cases.review_case and len(review["returns"]) == 2
        assert review["left"].startswith("剩余") and review["late"] is False
        (ext,) = (await sup.get("/api/v1/supervision/extensions")).json()
        assert (ext["task"], ext["period"], ext["reason"]) == (
            cases.extension_task,
            "5wd",
            "需调取平台数据",
        )
        assert ext["requested_by"] == "hrss.tianhe.wang" and ext["left"]
        (cb,) = (await sup.get("/api/v1/supervision/callbacks")).json()
        assert cb["case"] == cases.callback_case and cb["left"].startswith("剩余")
        assert "王小明" not in json.dumps(cb, ensure_ascii=False)
        board = (await sup.get("/api/v1/supervision/board")).json()
        assert board | {"overdue": 0} == {
            "overdue": 0,
            "review": 1,
            "review_late": 0,
            "extensions": 1,
            "callbacks": 1,
            "callbacks_late": 0,
        }
    # Outside the region, nothing; an office head sees their own office's requests.
    async with await door.as_user("sup.panyu.ou") as other:
        for q in ("review", "extensions", "callbacks"):
            assert (await other.get(f"/api/v1/supervision/{q}")).json() == []
    for staff_id, sees in (("hrss.tianhe.li", 1), ("hrss.city.zhao", 0)):
        async with await door.as_user(staff_id) as head:
            assert len((await head.get("/api/v1/supervision/extensions")).json()) == sees
            assert (await head.get("/api/v1/supervision/review")).status_code == 403
    for staff_id, sees in (("clerk.huang", 1), ("clerk.panyu.fang", 0)):
        async with await door.as_user(staff_id) as clerk:
            assert len((await clerk.get("/api/v1/supervision/callbacks")).json()) == sees

    # The CLI reads the same queues as the person logged in.
    token = await door.token("sup.tianhe.ma")
    async with served(door.app) as base:
        env = {"APPEALS_API_URL": base, "APPEALS_TOKEN": token, "COLUMNS": "200", "PATH": ""}

        async def appeals(*args: str) -> str:
            # A process of its own, awaited: the API it calls runs on this event loop.
            proc = await asyncio.create_subprocess_exec(
                APPEALS, *args, env=env, stdout=PIPE, stderr=PIPE
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            return out.decode()

        assert cases.review_case in await appeals("queue", "review")
        assert "需调取平台数据" in await appeals("queue", "extensions")
        table = await appeals("queue", "callbacks")
        assert cases.callback_case in table and "剩余" in table
        rows = json.loads(await appeals("queue", "callbacks", "--json"))
        assert [r["case"] for r in rows] == [cases.callback_case]
