"""A clerk opens a case through the API; the lead office's handler accepts and completes it."""

from __future__ import annotations

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor


async def test_open_accept_complete(door: FrontDoor) -> None:
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("smoke-1")})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        case = (await clerk.get(f"/api/v1/cases/{case_id}")).json()
        assert case["worker"]["phone"] == "138****8001"

    async with await door.as_user("hrss.tianhe.wang") as handler:

        async def lead() -> str | None:
            tasks = (await handler.get("/api/v1/tasks")).json()
            return next((t["id"] for t in tasks if t["case_id"] == case_id), None)

        task_id = await eventually(lead)
        r = await handler.post(f"/api/v1/tasks/{task_id}/accept", json={})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "accepted"
        r = await handler.post(
            f"/api/v1/tasks/{task_id}/complete",
            json={"outcome": "resolved", "reply": "已足额支付拖欠工资"},
        )
        # The union co-handles wage arrears: the lead waits for its opinion (协办意见).
        assert r.status_code == 409, r.text
        assert "天河区总工会" in r.json()["detail"]

    async with await door.as_user("union.tianhe.jin") as union:
        tasks = (await union.get("/api/v1/tasks")).json()
        co = next(t["id"] for t in tasks if t["case_id"] == case_id)
        assert (await union.post(f"/api/v1/tasks/{co}/accept", json={})).status_code == 200
        r = await union.post(
            f"/api/v1/tasks/{co}/complete", json={"outcome": "resolved", "reply": "工会已介入协调"}
        )
        assert r.status_code == 200, r.text

    async with await door.as_user("hrss.tianhe.wang") as handler:

        async def completed() -> bool:
            r = await handler.post(
                f"/api/v1/tasks/{task_id}/complete",
                json={"outcome": "resolved", "reply": "已足额支付拖欠工资"},
            )
            return r.status_code == 200

        await eventually(completed)  # the opinion reaches the lead through the case
        task = (await handler.get(f"/api/v1/tasks/{task_id}")).json()
        assert task["status"] == "completed"  # read-your-writes on the task itself

        async def replied() -> str | None:
            case = (await handler.get(f"/api/v1/cases/{case_id}")).json()
            return case["reply"] if case["status"] == "awaiting_callback" else None

        # The case replies to the worker once the lead's result reaches it.
        assert await eventually(replied) == "已足额支付拖欠工资"
