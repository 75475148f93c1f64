"""Acting through the API: the actor is the authenticated person, reveals are audited,
lists are scoped in SQL, and every refusal is one line with the right status."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor


async def _open(door: FrontDoor, request_id: str, **fields: Any) -> tuple[str, str]:
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post(
            "/api/v1/cases", json=INTAKE | {"request_id": door.rid(request_id)} | fields
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        async def lead() -> str | None:
            tasks = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["tasks"]
            return next((t["id"] for t in tasks if t["role"] == "lead"), None)

        return case_id, await eventually(lead)


async def test_the_actor_is_who_logged_in_never_who_the_body_says(door: FrontDoor) -> None:
    case_id, task_id = await _open(door, "actor-1")
    async with await door.as_user("hrss.tianhe.wang") as handler:
        r = await handler.post(f"/api/v1/tasks/{task_id}/accept", json={"actor": "sup.zhang"})
        assert r.status_code == 422
        assert r.json()["detail"] == (
            "invalid input: actor: the actor is the logged-in person; do not send it"
        )
        assert (await handler.post(f"/api/v1/tasks/{task_id}/accept", json={})).status_code == 200
        timeline = (await handler.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    accepted = [e for e in timeline if e["action"] == "accepted"]
    assert [e["actor"] for e in accepted] == ["hrss.tianhe.wang"]


async def test_reveal_is_a_permission_and_is_audited(door: FrontDoor) -> None:
    case_id, _ = await _open(door, "reveal-1")
    async with await door.as_user("sup.zhang") as sup:
        r = await sup.post(f"/api/v1/cases/{case_id}/reveal", json={"reason": "核实身份"})
        assert r.status_code == 403
        masked = (await sup.get(f"/api/v1/cases/{case_id}")).json()
        assert masked["worker"]["name"] == "王**" and "13800138001" not in str(masked)
    async with await door.as_user("hrss.tianhe.wang") as lead:
        r = await lead.post(f"/api/v1/cases/{case_id}/reveal", json={"reason": "需电话联系劳动者"})
        assert r.status_code == 200
        assert r.json()["worker"] == {"name": "王小明", "phone": "13800138001", "id_number": None}
        timeline = (await lead.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    reveals = [e for e in timeline if e["action"] == "revealed"]
    assert [(e["actor"], e["detail"]) for e in reveals] == [
        ("hrss.tianhe.wang", "需电话联系劳动者")
    ]


async def test_lists_are_scoped_and_liaisons_never_see_personal_data(door: FrontDoor) -> None:
    case_id, _ = await _open(
        door,
        "scope-1",
        category="platform_penalty",
        platform="yangcheng_run",
        summary="平台无故罚款五百元，申诉无人处理",
    )
    async with await door.as_user("clerk.li") as clerk:

        async def four() -> list[dict[str, Any]] | None:
            tasks: list[dict[str, Any]] = (await clerk.get(f"/api/v1/cases/{case_id}")).json()[
                "tasks"
            ]
            return tasks if len(tasks) >= 4 else None

        tasks = await eventually(four)
    offices = {t["office"] for t in tasks}
    async with await door.as_user("hrss.panyu.feng") as other:
        seen = (await other.get("/api/v1/tasks")).json()
        assert not [t for t in seen if t["case_id"] == case_id]
        r = await other.get(f"/api/v1/cases/{case_id}")
        assert r.status_code == 403 and "outside your scope" in r.json()["detail"]
    async with await door.as_user("yangcheng_run.liaison.tang") as liaison:
        seen = (await liaison.get("/api/v1/tasks")).json()
        assert [t["office"] for t in seen] == ["platform.yangcheng_run"]
        task = (await liaison.get(f"/api/v1/tasks/{seen[0]['id']}")).json()
        assert "王小明" not in str(task) and "13800138001" not in str(task)
        assert task["verbs"] == ["liaison-reply"]
        assert (await liaison.get(f"/api/v1/cases/{case_id}")).status_code == 403
    async with await door.as_user("didi.liaison.luo") as stranger:
        assert (await stranger.get("/api/v1/tasks")).json() == []
    async with await door.as_user("sup.panyu.ou") as panyu:
        assert not [t for t in (await panyu.get("/api/v1/tasks")).json() if t["office"] in offices]


async def test_refusals_are_one_line_with_their_status(door: FrontDoor) -> None:
    _, task_id = await _open(door, "errors-1")
    async with await door.as_user("hrss.tianhe.wang") as handler:
        cases = [
            (await handler.get("/api/v1/tasks/AP-NOSUCH-T1"), 404),
            (
                await handler.post(
                    f"/api/v1/tasks/{task_id}/complete", json={"outcome": "resolved", "reply": "好"}
                ),
                422,
            ),
            (
                await handler.post(
                    f"/api/v1/tasks/{task_id}/complete",
                    json={"outcome": "resolved", "reply": "已处理完毕"},
                ),
                409,  # the validator: not accepted yet
            ),
            (await handler.get("/api/v1/tasks", params={"status": "bogus"}), 422),
            (await handler.get("/api/v1/tasks", params={"department": "hrs"}), 422),
            (
                await handler.post(
                    f"/api/v1/tasks/{task_id}/note",
                    content=b'{"text": "' + b"x" * 70000 + b'"}',
                    headers={"content-type": "application/json"},
                ),
                413,
            ),
            (await handler.post(f"/api/v1/tasks/{task_id}/note", content=b"{not json"), 422),
        ]
    for r, status in cases:
        assert r.status_code == status, (status, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail and "\n" not in detail, r.text
        assert "Traceback" not in r.text


async def test_same_request_id_with_another_grievance_is_a_conflict(door: FrontDoor) -> None:
    async with await door.as_user("clerk.li") as clerk:
        first = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("dup-1")})
        again = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("dup-1")})
        assert first.json() == again.json()  # a replay: the same case
        other = await clerk.post(
            "/api/v1/cases",
            json=INTAKE | {"request_id": door.rid("dup-1"), "name": "李四", "phone": "13900139000"},
        )
        assert other.status_code == 409
        assert "different grievance" in other.json()["detail"]


async def test_personal_data_typed_into_the_summary_is_masked_until_revealed(
    door: FrontDoor,
) -> None:
    summary = "骑手王小明（电话13800138001，身份证11010519491231002X）被平台罚款"
    case_id, _ = await _open(
        door, "privacy-1", category="platform_penalty", platform="yangcheng_run", summary=summary
    )
    async with await door.as_user("clerk.li") as clerk:

        async def liaison_task() -> str | None:
            tasks = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["tasks"]
            return next((t["id"] for t in tasks if t["role"] == "liaison"), None)

        await eventually(liaison_task)
        shown = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["summary"]
        assert shown == "骑手王**（电话138****8001，身份证110105********002X）被平台罚款"
        revealed = await clerk.post(f"/api/v1/cases/{case_id}/reveal", json={"reason": "回访"})
        assert revealed.json()["summary"] == summary
    async with await door.as_user("yangcheng_run.liaison.tang") as liaison:
        for body in ((await liaison.get("/api/v1/tasks")).text,):
            assert "13800138001" not in body and "王小明" not in body
            assert "11010519491231002X" not in body


async def test_text_is_normalised_and_control_characters_refused(door: FrontDoor) -> None:
    async with await door.as_user("clerk.li") as clerk:
        nul = await clerk.post(
            "/api/v1/cases",
            json=INTAKE | {"request_id": door.rid("ctl-1"), "summary": "拖欠工资\x00两个月"},
        )
        assert nul.status_code == 422
        assert nul.json()["detail"] == "summary contains control characters (U+0000)"
        invisible = await clerk.post(
            "/api/v1/cases", json=INTAKE | {"request_id": door.rid("ctl-2"), "name": "\u200b\u200b"}
        )
        assert (invisible.status_code, invisible.json()["detail"]) == (
            422,
            "name must have visible characters",
        )
        r = await clerk.post(
            "/api/v1/cases",
            json=INTAKE
            | {"request_id": door.rid("ctl-3"), "summary": "工资\u202e款罚台平\u202c拖欠两个月"},
        )
        assert r.status_code == 201
        shown = (await clerk.get(f"/api/v1/cases/{r.json()['case_id']}")).json()["summary"]
        assert shown == "工资款罚台平拖欠两个月"  # the direction override is gone


async def test_dates_outside_the_calendar_are_bad_input(door: FrontDoor) -> None:
    async with await door.as_user("sup.zhang") as sup:
        for path, params in (
            ("/api/v1/sla/due", {"start": "9999-12-31T10:00+08:00", "period": "5wd"}),
            ("/api/v1/sla/due", {"start": "0001-01-01T00:00+08:00", "period": "5wd"}),
            ("/api/v1/supervision/returns", {"since": "9999-12-31T23:59:59-23:59"}),
        ):
            r = await sup.get(path, params=params)
            assert r.status_code == 422, r.text
            assert "between 1970 and 2100" in r.json()["detail"]


async def test_the_actor_reads_their_own_action_at_once(door: FrontDoor) -> None:
    # Read-your-writes: each action returns only once its projection is written, so the
    # very next read (SQL, not the workflow) shows it, with no waiting in between.
    _, task_id = await _open(door, "ryw-1")
    async with await door.as_user("hrss.tianhe.wang") as handler:
        steps: list[tuple[str, dict[str, Any], str, str]] = [
            ("accept", {}, "accepted", "accepted"),
            ("note", {"text": "已电话联系当事人"}, "accepted", "note"),
            ("return", {"reason": "押金应由市场监管处理", "owner": "samr"}, "returned", "returned"),
        ]
        for verb, body, status, action in steps:
            r = await handler.post(f"/api/v1/tasks/{task_id}/{verb}", json=body)
            assert r.status_code == 200, r.text
            seen = (await handler.get(f"/api/v1/tasks/{task_id}")).json()
            assert seen["status"] == status, verb
            mine = [e for e in seen["timeline"] if e["task"] == task_id and e["action"] == action]
            assert [e["actor"] for e in mine] == ["hrss.tianhe.wang"], verb
    assert mine and "押金应由市场监管处理" in mine[0]["detail"]


async def test_the_overdue_list_streams_as_csv(door: FrontDoor) -> None:
    _, task_id = await _open(door, "csv-1")
    async with await door.as_user("sup.zhang") as sup:
        listed = (await sup.get("/api/v1/supervision/overdue", params={"within": "30d"})).json()
        async with sup.stream(
            "GET", "/api/v1/supervision/overdue.csv", params={"within": "30d"}
        ) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/csv")
            text = "".join([chunk async for chunk in r.aiter_text()])
        # A limit past any list is refused in one line before the download starts
        # (the schema fuzz found it failing mid-stream in the database).
        absurd: list[tuple[str, dict[str, str | int]]] = [
            ("/api/v1/supervision/overdue.csv", {"limit": 10**27}),
            (
                "/api/v1/reports/drill",
                {"key": "hrss.tianhe", "metric": "received", "offset": 10**27},
            ),
        ]
        for path, params in absurd:
            r = await sup.get(path, params=params)
            assert r.status_code == 422, r.text
            assert "\n" not in r.json()["detail"], r.text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["task"], r["clock"], r["due_at"]) for r in rows] == [
        (r["task"], r["clock"], r["due_at"]) for r in listed
    ]
    assert task_id in {r["task"] for r in rows}


async def test_an_action_sent_again_with_its_idempotency_key_is_one_action(
    door: FrontDoor,
) -> None:
    """A retry after silence or a 503 ("the action may still take effect") carries the
    first try's key and gets its answer; a new key is a new action; a malformed key is
    refused in one line."""
    case_id, task_id = await _open(door, "idem-1")
    async with await door.as_user("hrss.tianhe.wang") as handler:
        note = f"/api/v1/tasks/{task_id}/note"
        once = {"Idempotency-Key": "note-7f3a9c01"}
        for _ in range(3):
            r = await handler.post(note, json={"text": "已电话联系"}, headers=once)
            assert r.status_code == 200, r.text
        r = await handler.post(
            note, json={"text": "已电话联系"}, headers={"Idempotency-Key": "note-7f3a9c02"}
        )
        assert r.status_code == 200, r.text
        r = await handler.post(note, json={"text": "x"}, headers={"Idempotency-Key": "no spaces"})
        assert r.status_code == 422
        assert "\n" not in r.json()["detail"] and "Idempotency-Key" in r.json()["detail"]
        timeline = (await handler.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert [e["detail"] for e in timeline if e["action"] == "note"] == ["已电话联系"] * 2


async def test_a_case_action_sent_again_with_its_idempotency_key_is_one_action(
    door: FrontDoor,
) -> None:
    """As for tasks: a 督办 retried with its first try's key is that 督办, not a second
    one; a new key is a new 督办; a malformed key is refused in one line."""
    case_id, _ = await _open(door, "idem-case-1")
    async with await door.as_user("sup.zhang") as sup:
        urge = f"/api/v1/cases/{case_id}/urge"
        once = {"Idempotency-Key": "urge-7f3a9c01"}
        for _ in range(3):
            r = await sup.post(urge, json={"text": "请本周内办结"}, headers=once)
            assert r.status_code == 200, r.text
        assert r.json()["priority"] == 1
        again = {"Idempotency-Key": "urge-7f3a9c02"}
        r = await sup.post(urge, json={"text": "请本周内办结"}, headers=again)
        assert r.status_code == 200 and r.json()["priority"] == 2, r.text
        r = await sup.post(urge, json={"text": "x"}, headers={"Idempotency-Key": "no spaces"})
        assert r.status_code == 422
        assert "\n" not in r.json()["detail"] and "Idempotency-Key" in r.json()["detail"]
        timeline = (await sup.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert [e["detail"] for e in timeline if e["action"] == "urged"] == ["请本周内办结"] * 2


async def test_a_keyed_retry_of_the_action_that_ended_a_task_gets_its_answer(
    door: FrontDoor,
) -> None:
    """A handler's 退回 whose answer was lost is sent again with its key: the task has
    ended, and the answer is still the 退回's, not "task is returned"; an action with
    another key is refused because the task has ended, and nothing is applied twice."""
    case_id, task_id = await _open(door, "idem-closed-1")
    async with await door.as_user("hrss.tianhe.wang") as handler:
        back = f"/api/v1/tasks/{task_id}/return"
        body = {"reason": "属平台规则，应由市场监管处理", "owner": "samr"}
        once = {"Idempotency-Key": "return-7f3a9c01"}
        first = await handler.post(back, json=body, headers=once)
        assert first.status_code == 200, first.text
        assert (await handler.get(f"/api/v1/tasks/{task_id}")).json()["status"] == "returned"
        again = await handler.post(back, json=body, headers=once)
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        other = await handler.post(back, json=body, headers={"Idempotency-Key": "return-7f3a9c02"})
        assert other.status_code == 409, other.text
        assert (
            other.json()["detail"]
            == f"task {task_id} is returned; return applies to open tasks only"
        )
        bare = await handler.post(back, json=body)
        assert bare.status_code == 409 and bare.json() == other.json()
        timeline = (await handler.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    returned = [e for e in timeline if e["action"] == "returned" and e["task"] == task_id]
    assert len(returned) == 1, timeline


async def test_a_keyed_retry_of_the_action_that_ended_a_case_gets_its_answer(
    door: FrontDoor,
) -> None:
    """As for tasks: a 撤回 retried with its key after the case ended is answered with the
    case as the 撤回 left it; another key gets the read model's one-line refusal."""
    case_id, _ = await _open(door, "idem-closed-2")
    async with await door.as_user("clerk.li") as clerk:
        withdraw = f"/api/v1/cases/{case_id}/withdraw"
        body = {"reason": "工人来电撤回诉求"}
        once = {"Idempotency-Key": "withdraw-7f3a9c01"}
        first = await clerk.post(withdraw, json=body, headers=once)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "withdrawn"
        again = await clerk.post(withdraw, json=body, headers=once)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "withdrawn"
        other = await clerk.post(
            withdraw, json=body, headers={"Idempotency-Key": "withdraw-7f3a9c02"}
        )
        assert other.status_code == 409, other.text
        assert other.json()["detail"] == f"case {case_id} is withdrawn; nothing can change it"
        timeline = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert [e["action"] for e in timeline].count("withdrawn") == 1, timeline
