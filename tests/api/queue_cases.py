"""Three cases in 天河, one in each queue, driven through the API as the people who
act: A's lead office asks for an extension, B's lead is returned twice (dispatch
review), C is answered (awaiting the callback)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor


@dataclass
class QueueCases:
    extension_task: str
    review_case: str
    callback_case: str


async def _tasks(c: httpx.AsyncClient, case_id: str) -> list[dict[str, Any]]:
    return list((await c.get(f"/api/v1/cases/{case_id}")).json()["tasks"])


async def _new_lead(c: httpx.AsyncClient, case_id: str, returned: str) -> str:
    """The lead task the case started after ``returned`` was returned."""

    async def found() -> str | None:
        for t in await _tasks(c, case_id):
            if t["role"] == "lead" and t["status"] == "dispatched" and t["id"] != returned:
                return str(t["id"])
        return None

    return await eventually(found, timeout=30)


async def _ok(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text


async def queue_cases(door: FrontDoor) -> QueueCases:
    async with await door.as_user("clerk.li") as clerk:
        ids = []
        # Three workers (three phones): not repeats of one another's calls.
        for n, name in enumerate(("qa", "qb", "qc")):
            fields = {"request_id": door.rid(name), "phone": f"1390013900{n}"}
            r = await clerk.post("/api/v1/cases", json=INTAKE | fields)
            assert r.status_code in (200, 201), r.text
            ids.append(r.json()["case_id"])
        a, b, c = ids

        async def lead_and_co(case_id: str) -> tuple[str, str] | None:
            tasks = await _tasks(clerk, case_id)
            lead = [t["id"] for t in tasks if t["role"] == "lead"]
            co = [t["id"] for t in tasks if t["role"] == "co"]
            return (lead[0], co[0]) if lead and co else None

        a_lead, _ = await eventually(lambda: lead_and_co(a), timeout=30)
        b_lead, _ = await eventually(lambda: lead_and_co(b), timeout=30)
        c_lead, c_co = await eventually(lambda: lead_and_co(c), timeout=30)

    async with await door.as_user("hrss.tianhe.wang") as hrss:
        await _ok(await hrss.post(f"/api/v1/tasks/{a_lead}/accept", json={}))
        await _ok(
            await hrss.post(
                f"/api/v1/tasks/{a_lead}/extend",
                json={"clock": "reply", "period": "5wd", "reason": "需调取平台数据"},
            )
        )
        await _ok(
            await hrss.post(
                f"/api/v1/tasks/{b_lead}/return", json={"reason": "属平台规则", "owner": "samr"}
            )
        )
    async with await door.as_user("clerk.li") as clerk:
        samr_task = await _new_lead(clerk, b, b_lead)
    async with await door.as_user("samr.tianhe.han") as samr:
        await _ok(
            await samr.post(
                f"/api/v1/tasks/{samr_task}/return", json={"reason": "欠薪属人社", "owner": "hrss"}
            )
        )
    async with await door.as_user("union.tianhe.jin") as union:
        await _ok(await union.post(f"/api/v1/tasks/{c_co}/accept", json={}))
        await _ok(
            await union.post(
                f"/api/v1/tasks/{c_co}/complete",
                json={"outcome": "resolved", "reply": "工会意见：支持劳动者"},
            )
        )
    async with await door.as_user("hrss.tianhe.wang") as hrss:
        await _ok(await hrss.post(f"/api/v1/tasks/{c_lead}/accept", json={}))

        async def completed() -> bool:
            r = await hrss.post(
                f"/api/v1/tasks/{c_lead}/complete",
                json={"outcome": "resolved", "reply": "已足额支付"},
            )
            return r.status_code == 200  # 409 until the co-handler's opinion is in

        await eventually(completed, timeout=30)
    return QueueCases(extension_task=a_lead, review_case=b, callback_case=c)


async def queues_show(door: FrontDoor, cases: QueueCases, staff_id: str = "sup.tianhe.ma") -> None:
    """Wait until each queue shows its case to ``staff_id`` (projections are written in
    the background; the case clocks come with the state that starts them)."""
    async with await door.as_user(staff_id) as sup:

        async def ready() -> bool:
            review = (await sup.get("/api/v1/supervision/review")).json()
            ext = (await sup.get("/api/v1/supervision/extensions")).json()
            cb = (await sup.get("/api/v1/supervision/callbacks")).json()
            return (
                any(r["case"] == cases.review_case and r["due_at"] for r in review)
                and any(x["task"] == cases.extension_task for x in ext)
                and any(x["case"] == cases.callback_case and x["due_at"] for x in cb)
            )

        await eventually(ready, timeout=30)
