"""Office hours per department and per office, from the directory, and what they do
to a deadline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from models.sla import ClockOp, ClockRequest, ClockSpec, ClockState
from routing_rules import RuleSet
from sla import OfficeHours, WorkCalendar
from sla.ledger import ClockMath
from tests.routing_rules.helpers import replace_text
from tests.routing_rules.test_loader import problems_of

SH = ZoneInfo("Asia/Shanghai")


def test_hours_come_from_the_office_else_its_department_else_the_default(
    ruleset: RuleSet,
) -> None:
    # departments.yaml: 公安 keeps 08:30–12:00, 14:00–18:00 for all its offices.
    assert ruleset.offices["police.tianhe"].office_hours == ["08:30-12:00", "14:00-18:00"]
    # union.city overrides its department (which has none) with its own hours.
    assert ruleset.offices["union.city"].office_hours == ["09:00-12:00", "14:00-17:30"]
    assert ruleset.offices["union.tianhe"].office_hours == []  # the default hours
    assert ruleset.offices["hrss.tianhe"].office_hours == []


def test_bad_hours_are_refused_naming_the_file_and_entry(rules_dir: Path) -> None:
    replace_text(rules_dir / "departments.yaml", '"14:00-18:00"', '"11:00-18:00"')
    (problem,) = problems_of(rules_dir)
    assert problem.startswith("departments.yaml:") and "police" in problem


def test_a_working_day_deadline_closes_at_the_office_s_own_hour(ruleset: RuleSet) -> None:
    # Monday 2026-11-23 10:00, 1wd: the receipt day is not counted, so Tuesday 11-24
    # at the close of office hours — 18:00 for 公安, not the default 17:30.
    hours = OfficeHours.model_validate(ruleset.offices["police.tianhe"].office_hours)
    math = ClockMath(WorkCalendar(), SH, hours)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    spec = ClockSpec(name="sign_for", label="签收", period="1wd", stops_on="accepted")
    clock = math.apply(ClockRequest(op=ClockOp.start, clock=ClockState(spec=spec), at=start))
    assert clock.due_at == datetime(2026, 11, 24, 18, 0, tzinfo=SH)
    # Mail at 18:30 waits for the next opening, 08:30 Wednesday.
    assert math.next_office_time(datetime(2026, 11, 24, 18, 30, tzinfo=SH)) == datetime(
        2026, 11, 25, 8, 30, tzinfo=SH
    )
