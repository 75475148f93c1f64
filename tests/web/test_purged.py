"""A purged case through the front door: the API and the case page say 已清除 where the
worker was, a reveal reveals nothing, and the administrators' purge endpoint (dry run,
then for real) names the case and never its data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from db.tables import CaseRow, EventRow
from tests.frontdoor import FrontDoor
from tests.web.pages import logged_in

NAME, PHONE, ID_NUMBER = "欧阳春花", "13912345678", "11010519491231002X"


def closed_long_ago(door: FrontDoor, case_id: str) -> None:
    """A case as the read model holds it 400 days after it closed (rows, not a workflow:
    Temporal would have dropped its history by then)."""
    closed = datetime.now(UTC) - timedelta(days=400)
    with Session(door.stack.engine) as session:
        session.add(
            CaseRow(
                case_id=case_id,
                version=9,
                status="closed",
                request_id=door.rid(case_id),
                category="housing",
                occupation="rider",
                channel="hotline",
                name=NAME,
                phone=PHONE,
                id_number=ID_NUMBER,
                summary=f"{NAME}（{PHONE}）称房东拒退押金",
                residence="440106",
                workplace="440106",
                opened_at=closed - timedelta(days=20),
                closed_at=closed,
                lead_department="housing",
                lead_region="440106",
                callback="satisfied",
                callback_remark=f"{NAME}表示满意",
            )
        )
        session.add(
            EventRow(
                key=f"{case_id}#1",
                case_id=case_id,
                at=closed,
                actor="clerk.li",
                action="callback",
                detail=f"{NAME}表示满意",
                data='{"result": "satisfied"}',
            )
        )
        session.commit()


async def test_a_purged_case_reads_as_purged(door: FrontDoor) -> None:
    case_id = f"AP-PURGE{door.stack.task_queue[-4:].upper()}"
    closed_long_ago(door, case_id)

    async with await door.as_user("admin.ops") as admin:
        dry = await admin.post("/api/v1/admin/purge", json={"dry_run": True})
        assert dry.status_code == 200, dry.text
        assert case_id in dry.json()["case_ids"] and dry.json()["dry_run"] is True
        done = await admin.post("/api/v1/admin/purge", json={})
        assert done.status_code == 200 and case_id in done.json()["case_ids"]
        assert NAME not in done.text and PHONE not in done.text
        again = await admin.post("/api/v1/admin/purge", json={})
        assert case_id not in again.json()["case_ids"]

    async with await door.as_user("clerk.li") as clerk:
        shown = (await clerk.get(f"/api/v1/cases/{case_id}")).json()
        assert shown["worker"] == {"name": "已清除", "phone": "已清除", "id_number": None}
        assert shown["purged_at"] and shown["timeline"][-1]["action"] == "purged"
        revealed = await clerk.post(f"/api/v1/cases/{case_id}/reveal", json={"reason": "回访核实"})
        assert revealed.status_code == 200
        assert revealed.json()["worker"]["name"] == "已清除"
        assert NAME not in revealed.text and PHONE not in revealed.text

    async with logged_in(door, "clerk.li") as (c, _):
        page = await c.get(f"/cases/{case_id}")
        assert page.status_code == 200
        assert "已清除" in page.text and "个人信息已清除" in page.text
        assert NAME not in page.text and "139****5678" not in page.text
