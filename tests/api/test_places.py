"""Places through the API on a real dev server: an unknown code is a 422 in one line;
an address that needs a choice is a 422 with the candidates; a confirmed address opens
a case in 黄埔区 that its district offices get."""

from __future__ import annotations

from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor


async def test_unknown_codes_and_ambiguous_addresses_are_refused(door: FrontDoor) -> None:
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post(
            "/api/v1/cases", json=INTAKE | {"workplace": "999999", "request_id": door.rid("p1")}
        )
        assert r.status_code == 422
        assert r.json()["detail"].startswith(
            "workplace region 999999 is not a current GB/T 2260 division"
        )

        body = {k: v for k, v in INTAKE.items() if k != "workplace"}
        r = await clerk.post(
            "/api/v1/cases",
            json=body | {"workplace_address": "白云区三元里大道", "request_id": door.rid("p2")},
        )
        assert r.status_code == 422
        answer = r.json()
        assert (answer["field"], answer["reason"]) == (
            "workplace",
            "several places have these names",
        )
        assert [(c["code"], c["full_name"], c["internal"]) for c in answer["candidates"]] == [
            ("440111", "广东省广州市白云区", True),
            ("520113", "贵州省贵阳市白云区", False),
        ]
        assert "\n" not in answer["detail"]


async def test_a_confirmed_address_in_huangpu_goes_to_the_huangpu_office(door: FrontDoor) -> None:
    body = {k: v for k, v in INTAKE.items() if k != "workplace"}
    body |= {"workplace_address": "广州市黄埔区科学城开源大道11号", "request_id": door.rid("p3")}
    async with await door.as_user("clerk.li") as clerk:
        unconfirmed = await clerk.post("/api/v1/cases", json=body)
        assert unconfirmed.status_code == 422
        assert [c["code"] for c in unconfirmed.json()["candidates"]] == ["440112"]
        r = await clerk.post("/api/v1/cases", json=body | {"confirm_address": True})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        async def lead() -> dict[str, str] | None:
            case = (await clerk.get(f"/api/v1/cases/{case_id}")).json()
            return next((t for t in case["tasks"] if t["role"] == "lead"), None)

        task = await eventually(lead)
        case = (await clerk.get(f"/api/v1/cases/{case_id}")).json()
    assert case["workplace"] == "440112"
    assert (task["department"], task["region"]) == ("hrss", "440112")
    assert task["office_name"] == "黄埔区人力资源和社会保障局"


async def test_every_path_taking_a_region_code_refuses_unknown_ones_with_the_nearest(
    door: FrontDoor,
) -> None:
    """`rules explain` like intake: a code that exists nowhere is a 422 naming the nearest
    real places, a real place outside the deployment is explained (an external hand-off).
    Filters and the actions that name an office's region (designate, transfer, add a
    co-handler, a cluster's lead) take only the deployment's regions, and say which are
    nearest."""
    explain = {
        "category": "wage_arrears",
        "occupation": "rider",
        "residence": "440106",
        "workplace": "440106",
    }
    async with await door.as_user("sup.zhang") as sup:
        for field in ("residence", "workplace", "incident"):
            r = await sup.get("/api/v1/rules/explain", params=explain | {field: "440199"})
            assert r.status_code == 422, r.text
            detail = r.json()["detail"]
            assert detail.startswith(f"{field} region 440199 is not a current GB/T 2260 division")
            assert "nearest: 440118 广东省广州市增城区" in detail and "\n" not in detail
        beijing = await sup.get("/api/v1/rules/explain", params=explain | {"workplace": "110108"})
        assert beijing.status_code == 200, beijing.text

        for path in ("/api/v1/tasks", "/api/v1/supervision/overdue", "/api/v1/staff"):
            r = await sup.get(path, params={"region": "440199"})
            assert r.status_code == 422, (path, r.text)
            assert "nearest of its regions: 440118 广东省广州市增城区" in r.json()["detail"]
        outside = await sup.get("/api/v1/tasks", params={"region": "110108"})
        assert outside.status_code == 422
        assert outside.json()["detail"].startswith(
            "region 110108 北京市海淀区 is outside this deployment"
        )

    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("p4")})
        case_id = r.json()["case_id"]

        async def lead() -> dict[str, str] | None:
            case = (await clerk.get(f"/api/v1/cases/{case_id}")).json()
            return next((t for t in case["tasks"] if t["role"] == "lead"), None)

        task = await eventually(lead)
    async with await door.as_user("sup.zhang") as sup:
        r = await sup.post(
            f"/api/v1/cases/{case_id}/designate",
            json={"department": "hrss", "region": "440199", "reason": "属人社"},
        )
        assert r.status_code == 422 and "nearest of its regions" in r.json()["detail"]
    assert task["office"] == "hrss.tianhe"
    async with await door.as_user("hrss.tianhe.wang") as h:
        r = await h.post(
            f"/api/v1/tasks/{task['id']}/transfer",
            json={"to": "samr@999999", "reason": "属市场监管"},
        )
        assert r.status_code == 422 and "999999 is not a current" in r.json()["detail"]
        r = await h.post(
            f"/api/v1/tasks/{task['id']}/add-cohandler",
            json={"department": "samr", "region": "110108", "reason": "需平台配合"},
        )
        assert r.status_code == 422 and "outside this deployment" in r.json()["detail"]
