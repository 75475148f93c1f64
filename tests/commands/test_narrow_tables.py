"""At 80 columns, or piped (rich then assumes 80), ids and dates are never cut or
wrapped mid-token: the other columns fold instead."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from commands.views import overdue_table, task_list_table, tasks_table, timeline_table

TASK = "AP-7QK2M4XZ9A-T12"
OFFICE = "天河区人力资源和社会保障局劳动保障监察大队"
DUE = "2026-12-07T17:30:00+08:00"


def rendered(table: Table) -> str:
    out = Console(width=80, record=True, force_terminal=False, color_system=None)
    out.print(table)
    text = out.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    return text


def deadline(**changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "label": "答复",
        "period": "5wd",
        "due_at": DUE,
        "remaining": "超期 3个工作日 2h",
        "running": True,
        "overdue": True,
        "extensions": [{"period": "5wd", "status": "pending"}],
        "pauses": [],
        "warnings_fired": ["warning-50", "warning-75"],
        "rungs_fired": ["rung-1", "rung-2"],
    }
    return d | changes


def task(**changes: Any) -> dict[str, Any]:
    t: dict[str, Any] = {
        "id": TASK,
        "role": "lead",
        "office_name": OFFICE,
        "category": "wage_arrears_with_a_long_code",
        "status": "waiting_on_worker",
        "dispatched_at": "2026-12-01T09:30:00+08:00",
        "deadlines": {"reply": deadline(), "statutory": deadline(label="法定时限")},
    }
    return t | changes


def test_soon_due_table_keeps_whole_task_ids_and_dates() -> None:
    rows = [
        {
            "task": TASK,
            "office_name": OFFICE,
            "status": "waiting_on_worker",
            "clock_label": "答复",
            "due_at": DUE,
            "working_time": "剩余 7h30m",
            "rungs_fired": ["rung-1", "rung-2", "rung-3"],
        }
    ]
    text = rendered(overdue_table(rows, soon=True))
    assert TASK in text and "2026-12-07 17:30" in text


def test_task_list_keeps_whole_ids_and_dates() -> None:
    text = rendered(task_list_table([task(), task(id="AP-7QK2M4XZ9A-T3")]))
    assert TASK in text and "AP-7QK2M4XZ9A-T3" in text
    assert "2026-12-01 09:30" in text and "2026-12-07 17:30" in text


def test_clock_table_keeps_whole_ids_and_dates() -> None:
    text = rendered(tasks_table([task()]))
    assert TASK in text and "2026-12-07 17:30" in text


def test_timeline_keeps_whole_times() -> None:
    events = [
        {
            "at": "2026-12-01T09:30:12+08:00",
            "task": TASK,
            "actor": "hrss.tianhe.wang.with.a.long.id",
            "action": "extension_requested",
            "detail": "答复 +5wd: 需调取平台数据，平台尚未回复，预计下周" * 2,
        }
    ]
    text = rendered(timeline_table(events))
    assert "2026-12-01 09:30:12" in text and "T12" in text
