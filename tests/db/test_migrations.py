"""Migrations over rows already written: a read model upgraded in place keeps answering
as one built new (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from db import queries
from db.engine import alembic_config, make_engine, migrate

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def url(read_model_url: str) -> str:
    return read_model_url


def _write_0013_rows(url: str) -> None:
    """Two offices' open tasks, each with a late clock, as 0013's store wrote them."""
    engine = make_engine(url)
    late = NOW - timedelta(hours=3)
    with engine.begin() as conn:
        for n, (department, region, category) in enumerate(
            [("hrss", "440106", "wage_arrears"), ("samr", "440105", "platform_rules")]
        ):
            case_id, task_id = f"AP-OLD{n}", f"AP-OLD{n}-T1"
            conn.execute(
                text(
                    "INSERT INTO tasks (task_id, case_id, version, seq, role, status, department,"
                    " region, office_id, office_name, category, dispatched_at, priority) VALUES"
                    " (:t, :c, 1, 1, 'lead', 'accepted', :d, :r, 'x', 'x', :k, :at, 0)"
                ),
                {
                    "t": task_id,
                    "c": case_id,
                    "d": department,
                    "r": region,
                    "k": category,
                    "at": late,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO cases (case_id, version, status, request_id, category,"
                    " occupation, channel, urgent, name, phone, summary, residence, workplace,"
                    " opened_at, priority) VALUES (:c, 1, 'open', :c, :k, 'rider', 'hotline',"
                    " false, '-', '-', '-', :r, :r, :at, 0)"
                ),
                {"c": case_id, "k": category, "r": region, "at": late},
            )
            conn.execute(
                text(
                    "INSERT INTO deadlines (task_id, clock, case_id, label, period, status,"
                    " mode, due_at, running_due_at, budget_seconds, spent_seconds, breached)"
                    " VALUES (:t, 'reply', :c, '答复', '15wd', 'running', 'working', :due,"
                    " :due, 0, 0, false)"
                ),
                {"t": task_id, "c": case_id, "due": late},
            )
    engine.dispose()


def test_0014_gives_old_clocks_their_tasks_filters(url: str) -> None:
    """Clocks written before 0014 carry no copy of their task's office and category:
    the upgrade fills them in, so the filtered overdue list still finds them."""
    command.upgrade(alembic_config(url), "0013")
    _write_0013_rows(url)
    migrate(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            everything = queries.overdue_tasks(session=session, now=NOW)
            assert [r.task.task_id for r in everything] == ["AP-OLD0-T1", "AP-OLD1-T1"]
            assert all(
                (r.deadline.department, r.deadline.region, r.deadline.category)
                == (r.task.department, r.task.region, r.task.category)
                for r in everything
            )
            office = queries.overdue_tasks(
                session=session, now=NOW, department="samr", region="440105"
            )
            assert [r.task.task_id for r in office] == ["AP-OLD1-T1"]
            category = queries.overdue_tasks(session=session, now=NOW, category="wage_arrears")
            assert [r.task.task_id for r in category] == ["AP-OLD0-T1"]
    finally:
        engine.dispose()
    command.downgrade(alembic_config(url), "0013")  # and back, for a release rolled back
