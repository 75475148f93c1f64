"""How clocks read to people: a clock stopped because its task was returned,
transferred or cancelled is neither met nor missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.views import tasks_table
from db.tables import DeadlineRow, TaskRow
from services.views import deadline_dict, task_dict
from settings import Settings

DISPATCHED = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
DUE = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 20, tzinfo=UTC)


def task(status: str, closed_at: datetime | None) -> TaskRow:
    return TaskRow(
        task_id="AP-7QK2M4XZ9A-T1",
        case_id="AP-7QK2M4XZ9A",
        seq=1,
        role="lead",
        status=status,
        department="hrss",
        region="440106",
        office_id="hrss@440106",
        office_name="天河区人社局",
        category="wage_arrears",
        dispatched_at=DISPATCHED,
        closed_at=closed_at,
    )


def clock(name: str, stopped_at: datetime | None, due_at: datetime = DUE) -> DeadlineRow:
    return DeadlineRow(
        task_id="AP-7QK2M4XZ9A-T1",
        clock=name,
        case_id="AP-7QK2M4XZ9A",
        label=name,
        period="5wd",
        status="stopped" if stopped_at else "running",
        due_at=due_at,
        stopped_at=stopped_at,
        running_due_at=None if stopped_at else due_at,
    )


@pytest.mark.parametrize("status", ["returned", "transferred", "cancelled"])
def test_a_clock_stopped_by_handing_the_task_on_is_not_met(status: str) -> None:
    closed = DISPATCHED + timedelta(days=1)
    t = task(status, closed)
    signed = clock("sign_for", DISPATCHED + timedelta(hours=2))
    reply = clock("reply", closed)
    d = task_dict(t, [signed, reply], Settings(), NOW)["deadlines"]
    assert (d["reply"]["met"], d["reply"]["result"], d["reply"]["ended_by"]) == (
        False,
        "stopped",
        status,
    )
    # The sign-for clock stopped on its own event, before the task was handed on.
    assert (d["sign_for"]["met"], d["sign_for"]["result"], d["sign_for"]["ended_by"]) == (
        True,
        "met",
        None,
    )
    rendered = str(tasks_table([task_dict(t, [reply], Settings(), NOW)]).columns[6]._cells)
    assert f"stopped ({status})" in rendered and "met" not in rendered


def test_completed_tasks_still_meet_or_miss() -> None:
    t = task("completed", DUE + timedelta(days=1))
    late = deadline_dict(clock("reply", DUE + timedelta(days=1)), Settings(), NOW, task=t)
    assert (late["met"], late["result"], late["ended_by"]) == (False, "missed", None)
    early = deadline_dict(clock("reply", DUE - timedelta(days=1)), Settings(), NOW, task=t)
    assert (early["met"], early["result"]) == (True, "met")
