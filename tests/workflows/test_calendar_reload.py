"""A running worker follows calendar.yaml: a schedule added while it runs is used by
the next deadline it computes; a broken file keeps the last good calendar, and
`appeals health` says the file is broken.

The case opens Thursday 2026-12-31 10:00 Shanghai (see test_clocks.py): sign-for 1wd
is due Mon 2027-01-04 17:30, or Tue 01-05 17:30 once 01-04 is declared a holiday. The
scenario is played whole weeks later, on a calendar moved with it (tests/scenario.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from services import health
from settings import Settings
from sla import load_overrides
from sla.calendar import CalendarOverrides
from tests.conftest import Stack, running_stack
from tests.scenario import at, day, overrides_yaml
from tests.workflows.helpers import intake, open_case, task_query, wait_tasks
from tests.workflows.test_clocks import T0, minute, travel_to


def with_holiday(rules: Path, written: str) -> str:
    """The rules' calendar file with the day ``written`` stands for declared a holiday."""
    overrides = load_overrides(rules / "calendar.yaml")
    off = date.fromisoformat(day(written))
    entry = overrides.years[off.year]
    changed = entry.model_copy(
        update={
            "holidays": (*entry.holidays, off),
            "workdays": tuple(d for d in entry.workdays if d != off),
        }
    )
    years = {**overrides.years, off.year: changed}
    # A line more, so the file's size changes too, not only its modification time.
    return overrides_yaml(CalendarOverrides(years=years)) + f"# {off}: declared a holiday\n"


async def sign_for_due(stack: Stack) -> datetime:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    state = await task_query(stack, lead.task_id)
    return minute(next(c.due_at for c in state.clocks if c.name == "sign_for"))


async def test_a_running_worker_takes_a_changed_calendar_and_keeps_the_last_good(
    own_env: WorkflowEnvironment, clock_settings: Settings
) -> None:
    s = clock_settings  # a copy of the rules of its own, which the test edits
    rules = s.rules_dir
    holiday = with_holiday(rules, "2027-01-04")
    async with running_stack(own_env, s) as stack:
        await travel_to(stack, T0)
        assert await sign_for_due(stack) == at("2027-01-04T17:30")

        (rules / "calendar.yaml").write_text(holiday, encoding="utf-8")
        assert await sign_for_due(stack) == at("2027-01-05T17:30")

        # Half-edited: not a valid file. The worker keeps the calendar above.
        (rules / "calendar.yaml").write_text(holiday + "years: [2027-13-01\n", encoding="utf-8")
        assert await sign_for_due(stack) == at("2027-01-05T17:30")
        check = health.calendar(s, T0 + timedelta(days=1))
        assert check.status == "down"
        assert "calendar.yaml is invalid, workers keep their last good calendar" in check.detail
        assert "\n" not in check.detail
