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
