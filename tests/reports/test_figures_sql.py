"""The figures' SQL on hand-made task_figures rows, SQLite and PostgreSQL alike: every
count and rate worked out by hand, percentiles by nearest rank, a drill-down listing
exactly the tasks a number counts, and scope and repeats honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from activities.facts import upsert
from db.tables import CaseRow
from reports.figures import Dimension, Period, Window, drill, figures, scope_clause
from tests.reports.rows import DAY, row


@pytest.fixture
def engine(read_model: Engine) -> Engine:
    return read_model


def seed(engine: Engine) -> None:
    rows = []
    # 天河: 10 tasks; 7 signed on time, 2 late, 1 still inside its sign-for clock.
    for n in range(10):
        sign = "on_time" if n < 7 else ("late" if n < 9 else None)
        rows.append(
            row(
                n,
                sign_state=sign,
                sign_minutes=(n + 1) * 60 if sign else None,  # 1h … 9h
                reply_state="on_time" if n < 4 else ("late" if n < 6 else None),
                reply_minutes=(n + 1) * 600 if n < 6 else None,
                outcome="resolved" if n < 3 else ("unresolvable" if n < 5 else None),
                callback="satisfied"
                if n < 2
                else ("unsatisfied" if n == 2 else None)
                if n != 3
                else "unreachable",
                max_rung=2 if n == 8 else (1 if n == 7 else 0),
                extensions_asked=2 if n == 5 else 0,
                extensions_granted=1 if n == 5 else 0,
                origin="return" if n == 9 else ("designation" if n == 8 else "routed"),
            )
        )
    # Two tasks a week later, one returned wrongly; one transferred away.
    rows.append(
        row(20, day=DAY + timedelta(days=7), returned=True, wrongful_return=True, status="returned")
    )
    rows.append(row(21, day=DAY + timedelta(days=8), transferred=True, status="transferred"))
    # 越秀: 2 tasks, both signed on time; and one the day after the window.
    rows.append(row(0, "samr.yuexiu", sign_state="on_time", sign_minutes=30))
    rows.append(row(1, "samr.yuexiu", sign_state="on_time", sign_minutes=90, platform=None))
    rows.append(row(2, "samr.yuexiu", day=DAY + timedelta(days=14), sign_state="late"))
    with Session(engine) as session:
        upsert(session, rows)
        session.commit()


WINDOW = Window(DAY, DAY + timedelta(days=13))


def test_office_figures_worked_out_by_hand(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        rows = {r.key: r for r in figures(session=session, by=Dimension.office, window=WINDOW)}
    th = rows["hrss.tianhe"]
    assert th.label == "天河区人社局"
    assert th.counts["received"] == 12
    assert (th.counts["signed_on_time"], th.counts["sign_due"]) == (7, 9)
    assert th.rate("sign_rate") == pytest.approx(7 / 9)
    assert th.rate("on_time_rate") == pytest.approx(4 / 6)
    assert th.rate("resolution_rate") == pytest.approx(3 / 5)
    # unreachable is not a callback that was answered: 2 satisfied of 3
    assert th.rate("satisfaction_rate") == pytest.approx(2 / 3)
    assert th.counts["returns_given"] == 1 and th.counts["wrongful_returns"] == 1
    assert th.counts["transfers_given"] == 1
    assert th.counts["returns_received"] == 1 and th.counts["designations_received"] == 1
    assert (th.counts["rung_1"], th.counts["rung_2"], th.counts["rung_3"]) == (2, 1, 0)
    assert (th.counts["extensions_asked"], th.counts["extensions_granted"]) == (2, 1)
    # sign minutes 60…540 (9 values): median the 5th = 300, p90 the 9th = 540
    assert (th.minutes["sign_p50"], th.minutes["sign_p90"]) == (300, 540)
    # reply minutes 600…3600 (6 values): median the 3rd, p90 the 6th
    assert (th.minutes["reply_p50"], th.minutes["reply_p90"]) == (1800, 3600)
    assert th.as_dict()["sign_p50_hours"] == 5.0
    yx = rows["samr.yuexiu"]
    assert yx.counts["received"] == 2 and yx.rate("sign_rate") == 1.0
    assert yx.rate("satisfaction_rate") is None  # no callback: no rate, not 0 %
    assert (yx.minutes["sign_p50"], yx.minutes["sign_p90"]) == (30, 90)


def test_split_by_week_and_other_dimensions(engine: Engine) -> None:
    seed(engine)
    weekly = Window(WINDOW.start, WINDOW.end, Period.week)
    with Session(engine) as session:
        rows = figures(session=session, by=Dimension.office, window=weekly)
        platforms = figures(session=session, by=Dimension.platform, window=WINDOW)
        regions = figures(
            session=session, by=Dimension.region, window=WINDOW, labels=lambda d, k: f"R{k}"
        )
    got = {(r.key, r.period): r.counts["received"] for r in rows}
    assert got == {
        ("hrss.tianhe", DAY): 10,
        ("hrss.tianhe", DAY + timedelta(days=7)): 2,
        ("samr.yuexiu", DAY): 2,
    }
    assert {r.key: r.counts["received"] for r in platforms} == {"meituan": 13, "": 1}
    assert {r.label for r in regions} == {"R440106", "R440104"}


def test_drill_down_lists_the_tasks_behind_a_number(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        total, tasks = drill(
            session=session,
            by=Dimension.office,
            key="hrss.tianhe",
            metric="signed_on_time",
            window=WINDOW,
        )
        late_total, _ = drill(
            session=session,
            by=Dimension.office,
            key="hrss.tianhe",
            metric="sign_rate",
            window=WINDOW,
        )
        wrong, wrong_tasks = drill(
            session=session,
            by=Dimension.office,
            key="hrss.tianhe",
            metric="wrongful_returns",
            window=WINDOW,
        )
    assert total == 7 and {t.task_id for t in tasks} == {f"AP-hrss.tianhe-{n}-T1" for n in range(7)}
    assert late_total == 9  # a rate drills down to its denominator
    assert wrong == 1 and wrong_tasks[0].task_id == "AP-hrss.tianhe-20-T1"
    with Session(engine) as session, pytest.raises(KeyError):
        drill(session=session, by=Dimension.office, key="x", metric="nonsense", window=WINDOW)


def test_scope_leaves_out_other_offices(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        rows = figures(
            session=session,
            by=Dimension.office,
            window=WINDOW,
            where=scope_clause(regions=["440104"]),
        )
        total, _ = drill(
            session=session,
            by=Dimension.office,
            key="hrss.tianhe",
            metric="received",
            window=WINDOW,
            where=scope_clause(office="x"),
        )
    assert [r.key for r in rows] == ["samr.yuexiu"]
    assert total == 0


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        Window(DAY, DAY - timedelta(days=1))


def test_a_repeat_case_counts_once(engine: Engine) -> None:
    """A case linked as a repeat (``cases.repeat_of``) adds nothing: the case it repeats
    is counted."""
    seed(engine)
    opened = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    with Session(engine) as session:
        for n, link in ((0, "AP-hrss.tianhe-1"), (1, None)):
            session.add(
                CaseRow(case_id=f"AP-hrss.tianhe-{n}", status="closed", request_id=f"r{n}",
                        category="wage_arrears", occupation="rider", channel="hotline",
                        name="x", phone="1", summary="s", residence="440106",
                        workplace="440106", opened_at=opened, repeat_of=link)
            )  # fmt: skip
        session.commit()
        rows = {r.key: r for r in figures(session=session, by=Dimension.office, window=WINDOW)}
        total, tasks = drill(session=session, by=Dimension.office, key="hrss.tianhe",
                             metric="received", window=WINDOW)  # fmt: skip
    assert rows["hrss.tianhe"].counts["received"] == 11  # 12 less the repeat
    assert total == 11 and "AP-hrss.tianhe-0-T1" not in {t.task_id for t in tasks}
