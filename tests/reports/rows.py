"""Hand-made task_figures rows for tests of the figures' SQL, API and CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

DAY = date(2026, 11, 2)  # a Monday
OFFICES = {
    "hrss.tianhe": ("天河区人社局", "440106"),
    "samr.yuexiu": ("越秀区市场监管局", "440104"),
    "hrss.panyu": ("番禺区人力资源和社会保障局", "440113"),
}


def row(n: int, office: str = "hrss.tianhe", day: date = DAY, **kw: Any) -> dict[str, Any]:
    at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    base: dict[str, Any] = {
        "task_id": f"AP-{office}-{n}-T1",
        "case_id": f"AP-{office}-{n}",
        "office_id": office,
        "office_name": OFFICES[office][0],
        "department": office.split(".")[0],
        "region": OFFICES[office][1],
        "category": "wage_arrears",
        "platform": "meituan",
        "role": "lead",
        "status": "completed",
        "received_at": at,
        "received_day": day,
        "received_week": day - timedelta(days=day.weekday()),
        "received_month": day.replace(day=1),
        "origin": "routed",
        "sign_state": None,
        "reply_state": None,
        "sign_minutes": None,
        "reply_minutes": None,
        "outcome": None,
        "callback": None,
        "returned": False,
        "transferred": False,
        "wrongful_return": False,
        "max_rung": 0,
        "extensions_asked": 0,
        "extensions_granted": 0,
    }
    return {**base, **kw}
