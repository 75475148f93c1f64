"""Deriving one case's task figures from its rows (pure): origins, wrongful returns,
callbacks, clock states with pauses and extensions, ledgers, working hours."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from activities.facts import FigureMath, clock_state, derive
from db.tables import CaseRow, DeadlineRow, EventRow, TaskRow
from sla.calendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
MON = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # Monday 10:00
MATH = FigureMath(WorkCalendar(), SH)


def task(seq: int, office: str, status: str, **kw: Any) -> TaskRow:
    fields: dict[str, Any] = {
        "task_id": f"AP-1-T{seq}",
        "case_id": "AP-1",
        "seq": seq,
        "role": "lead",
        "status": status,
        "department": office.split(".")[0],
        "region": "440106",
        "office_id": office,
        "office_name": office,
        "category": "wage_arrears",
        "dispatched_at": MON,
    }
    return TaskRow(**{**fields, **kw})


def event(n: int, action: str, at: datetime, task_id: str | None = None, **data: Any) -> EventRow:
    return EventRow(
        id=n,
        key=f"k{n}",
        case_id="AP-1",
        task_id=task_id,
        at=at,
        action=action,
        data=json.dumps(data) if data else None,
    )


def clock(
    task_id: str,
    name: str,
    due: datetime | None,
    breached: bool = False,
    detail: dict[str, Any] | None = None,
) -> DeadlineRow:
    return DeadlineRow(
        task_id=task_id,
        clock=name,
        case_id="AP-1",
        label=name,
        period="1wd",
        due_at=due,
        breached=breached,
        detail=json.dumps(detail) if detail else None,
    )


def test_return_then_designation_back_is_a_wrongful_return() -> None:
    h = timedelta(hours=1)
    tasks = [
        task(1, "hrss.tianhe", "returned", closed_at=MON + h),
        task(2, "samr.yuexiu", "returned", dispatched_at=MON + 2 * h, closed_at=MON + 3 * h),
        task(
            3,
            "hrss.tianhe",
            "completed",
            dispatched_at=MON + 5 * h,
            accepted_at=MON + 6 * h,
            closed_at=MON + 8 * h,
            outcome="resolved",
        ),
    ]
    events = [
        event(1, "dispatched", MON, "AP-1-T1"),
        event(2, "dispatched", MON + 2 * h, "AP-1-T2"),
        event(3, "dispatched", MON + 5 * h, "AP-1-T3", designated=True),
        event(4, "callback", MON + 30 * h, result="satisfied"),
    ]
    case = CaseRow(
        case_id="AP-1",
        status="closed",
        request_id="r",
        category="wage_arrears",
        occupation="rider",
        platform="meituan",
        channel="hotline",
        name="x",
        phone="1",
        summary="s",
        residence="440106",
        workplace="440106",
        opened_at=MON,
    )
    rows = {
        r["task_id"]: r for r in derive(case=case, tasks=tasks, clocks=[], events=events, math=MATH)
    }
    assert [rows[f"AP-1-T{n}"]["origin"] for n in (1, 2, 3)] == ["routed", "return", "designation"]
    assert rows["AP-1-T1"]["wrongful_return"] is True  # designated back to 天河
    assert rows["AP-1-T2"]["wrongful_return"] is False  # 越秀 was right to return it
    assert rows["AP-1-T3"]["callback"] == "satisfied"
    assert rows["AP-1-T3"]["outcome"] == "resolved"
    assert rows["AP-1-T3"]["platform"] == "meituan"
    assert rows["AP-1-T3"]["received_day"] == date(2026, 11, 23)
    assert rows["AP-1-T3"]["received_week"] == date(2026, 11, 23)
    assert rows["AP-1-T3"]["received_month"] == date(2026, 11, 1)
    # 15:00 → 16:00 (sign) and 15:00 → 18:00, office closing at 17:30 (reply)
    assert rows["AP-1-T3"]["sign_minutes"] == 60
    assert rows["AP-1-T3"]["reply_minutes"] == 150


def test_transfer_and_reopen_origins_and_each_callback_to_its_reply() -> None:
    h = timedelta(hours=1)
    tasks = [
        task(1, "hrss.tianhe", "transferred", closed_at=MON + h),
        task(
            2,
            "hrss.yuexiu",
            "completed",
            dispatched_at=MON + h,
            closed_at=MON + 3 * h,
            outcome="partially_resolved",
        ),
        task(
            3,
            "hrss.yuexiu",
            "completed",
            dispatched_at=MON + 5 * h,
            closed_at=MON + 7 * h,
            outcome="resolved",
        ),
    ]
    events = [
        event(1, "callback", MON + 4 * h, result="unsatisfied"),
        event(2, "dispatched", MON + 5 * h, "AP-1-T3", reopened=True),
        event(3, "callback", MON + 8 * h, result="satisfied"),
    ]
    rows = {
        r["task_id"]: r for r in derive(case=None, tasks=tasks, clocks=[], events=events, math=MATH)
    }
    assert [rows[f"AP-1-T{n}"]["origin"] for n in (1, 2, 3)] == ["routed", "transfer", "reopen"]
    assert rows["AP-1-T1"]["transferred"] is True
    assert rows["AP-1-T2"]["callback"] == "unsatisfied"
    assert rows["AP-1-T3"]["callback"] == "satisfied"


def test_clock_states_follow_the_ledger() -> None:
    due = MON + timedelta(days=1)
    assert clock_state(MON, clock("t", "sign_for", due)) == "on_time"
    assert clock_state(due + timedelta(minutes=1), clock("t", "sign_for", due)) == "late"
    assert clock_state(None, clock("t", "sign_for", due)) is None  # not yet due
    assert clock_state(None, clock("t", "sign_for", due, breached=True)) == "late"
    # stopped while paused: no due time, the clock's own breach decides
    assert clock_state(MON, clock("t", "reply", None)) == "on_time"
    assert clock_state(MON, None) is None


def test_rungs_and_extensions_come_from_the_ledger() -> None:
    detail = {
        "events": [
            {"key": "rung-1", "kind": "breach", "rung": 1, "fired_at": MON.isoformat()},
            {"key": "rung-2", "kind": "breach", "rung": 2, "fired_at": None},
            {"key": "warning-50", "kind": "warning", "fired_at": MON.isoformat()},
        ],
        "extensions": [{"status": "approved"}, {"status": "denied"}, {"status": "pending"}],
    }
    tasks = [task(1, "hrss.tianhe", "accepted")]
    clocks = [clock("AP-1-T1", "reply", MON, True, detail)]
    (row,) = derive(case=None, tasks=tasks, clocks=clocks, events=[], math=MATH)
    assert (row["max_rung"], row["extensions_asked"], row["extensions_granted"]) == (1, 3, 1)
    assert row["reply_state"] == "late" and row["reply_minutes"] is None
    assert row["received_at"] == MON and MON.astimezone(UTC).tzinfo is UTC
