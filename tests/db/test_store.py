"""The store activity against real read models — SQLite (embedded) and PostgreSQL
(production), same code: retries never duplicate, late writes never go backwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from activities.store import StoreActivities
from db import queries
from db.engine import make_engine, migrate
from models.events import (
    AuditEvent,
    CaseProjection,
    DeadlineProjection,
    ProjectionBatch,
    TaskProjection,
)

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
    else:
        url = request.getfixturevalue("pg_url")
        with make_engine(url).begin() as conn:  # each test starts from an empty schema
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def case(version: int, status: str) -> CaseProjection:
    return CaseProjection(
        case_id="AP-TEST",
        version=version,
        status=status,
        request_id="r1",
        category="wage_arrears",
        occupation="rider",
        platform=None,
        channel="hotline",
        urgent=False,
        name="王小明",
        phone="13800138001",
        id_number=None,
        summary="欠薪",
        residence="440111",
        workplace="440106",
        incident=None,
        opened_at=T0,
    )


def task(version: int, status: str, stopped: datetime | None = None) -> TaskProjection:
    return TaskProjection(
        task_id="AP-TEST-T1",
        case_id="AP-TEST",
        version=version,
        seq=1,
        role="lead",
        status=status,
        department="hrss",
        region="440106",
        office_id="hrss.tianhe",
        office_name="天河区人社局",
        category="wage_arrears",
        dispatched_at=T0,
        deadlines=[
            DeadlineProjection(
                clock="sign_for",
                label="签收",
                period="1wd",
                status="stopped" if stopped else "running",
                due_at=T0 + timedelta(days=1, hours=7, minutes=30),
                stopped_at=stopped,
            )
        ],
    )


def event(n: int, action: str) -> AuditEvent:
    return AuditEvent(key=f"AP-TEST#{n}", case_id="AP-TEST", at=T0, action=action, actor="clerk.li")


def test_retried_and_late_projections(engine: Engine) -> None:
    store = StoreActivities(engine)
    first = ProjectionBatch(
        case=case(1, "open"), task=task(1, "dispatched"), events=[event(1, "opened")]
    )
    store.project(first)
    store.project(first)  # an activity retry after a lost acknowledgement
    store.project(
        ProjectionBatch(
            case=case(3, "closed"), task=task(3, "accepted", T0), events=[event(3, "closed")]
        )
    )
    # Version 2 arrives last (a slow retry): the rows must stay at version 3,
    # while its event is still new and is kept.
    store.project(
        ProjectionBatch(
            case=case(2, "awaiting_callback"),
            task=task(2, "dispatched"),
            events=[event(2, "replied"), event(1, "opened")],
        )
    )
    with Session(engine) as session:
        row = queries.get_case(session=session, case_id="AP-TEST")
        assert row is not None and row.status == "closed" and row.version == 3
        assert row.opened_at == T0  # aware in, aware out, same instant
        t = queries.get_task(session=session, task_id="AP-TEST-T1")
        assert t is not None and t.status == "accepted"
        assert [e.action for e in queries.case_events(session=session, case_id="AP-TEST")] == [
            "opened",
            "closed",
            "replied",
        ]
        # The stopped sign-for clock no longer counts as overdue, years later.
        assert queries.overdue_tasks(session=session, now=T0 + timedelta(days=400)) == []


def test_overdue_lists_running_clocks_most_late_first(engine: Engine) -> None:
    store = StoreActivities(engine)
    store.project(ProjectionBatch(case=case(1, "open"), task=task(1, "dispatched")))
    due = T0 + timedelta(days=1, hours=7, minutes=30)
    with Session(engine) as session:
        assert queries.overdue_tasks(session=session, now=due) == []  # due, not yet late
        (row,) = queries.overdue_tasks(session=session, now=due + timedelta(minutes=1))
        assert (row.task.task_id, row.deadline.clock) == ("AP-TEST-T1", "sign_for")
        assert (
            queries.overdue_tasks(session=session, now=due + timedelta(hours=1), department="samr")
            == []
        )


def test_a_task_late_on_two_clocks_is_listed_once_by_its_most_late(engine: Engine) -> None:
    store = StoreActivities(engine)
    two = task(1, "accepted")
    sign_for = two.deadlines[0]
    due = T0 + timedelta(days=1, hours=7, minutes=30)  # sign_for's
    reply = sign_for.model_copy(
        update={"clock": "reply", "label": "答复", "due_at": due + timedelta(hours=2)}
    )
    store.project(
        ProjectionBatch(
            case=case(1, "open"), task=two.model_copy(update={"deadlines": [reply, sign_for]})
        )
    )
    late = due + timedelta(days=3)
    with Session(engine) as session:
        (row,) = queries.overdue_tasks(session=session, now=late)
        assert row.deadline.clock == "sign_for"  # the earlier due time, not the second row
        # Each clock on its own still lists the task; the office filter takes another plan.
        assert [
            r.deadline.clock
            for r in queries.overdue_tasks(session=session, now=late, clock="reply")
        ] == ["reply"]
        (office,) = queries.overdue_tasks(
            session=session, now=late, department="hrss", region="440106"
        )
        assert office.deadline.clock == "sign_for"
        streamed = list(queries.iter_overdue_tasks(session=session, now=late))
        assert [r.task.task_id for r in streamed] == ["AP-TEST-T1"]


def test_a_purged_case_is_never_projected_back(engine: Engine) -> None:
    """A projection that still arrives for a purged case (a late retry), or a reconcile
    repair, does not bring the worker's data back."""
    from activities.purge import purge
    from activities.store import reproject

    store = StoreActivities(engine)
    closed = case(1, "closed").model_copy(update={"closed_at": T0})
    store.project(ProjectionBatch(case=closed))
    result = purge(
        engine,
        now=T0 + timedelta(days=400),
        retention_days=365,
        repeat_window_days=30,
        actor="test",
    )
    assert result.case_ids == ["AP-TEST"]
    store.project(ProjectionBatch(case=closed.model_copy(update={"version": 2})))
    assert not reproject(engine, ProjectionBatch(case=closed.model_copy(update={"version": 3})))
    with Session(engine) as session:
        row = queries.get_case(session=session, case_id="AP-TEST")
        assert row is not None and row.purged_at is not None
        assert (row.name, row.phone, row.version) == ("", "", 1)


def test_a_retried_workflow_task_rewrites_its_versions_with_its_own_times(engine: Engine) -> None:
    """A worker killed after its workflow task's local projection was written, before
    the task completed: the retried task projects the same versions again, stamped with
    its own workflow time, and that is the truth (the fault harness saw the first
    attempt's opened_at stay, and reconcile report it). An older version still never
    lands over a newer one."""
    store = StoreActivities(engine)
    store.project(
        ProjectionBatch(
            case=case(1, "open"), task=task(1, "dispatched"), events=[event(1, "opened")]
        )
    )
    later = T0 + timedelta(seconds=7)
    store.project(
        ProjectionBatch(
            case=case(1, "open").model_copy(update={"opened_at": later}),
            task=task(1, "dispatched").model_copy(update={"dispatched_at": later}),
            events=[event(1, "opened").model_copy(update={"at": later})],
        )
    )
    with Session(engine) as session:
        row = queries.get_case(session=session, case_id="AP-TEST")
        assert row is not None and row.opened_at == later
        t = queries.get_task(session=session, task_id="AP-TEST-T1")
        assert t is not None and t.dispatched_at == later
        (e,) = queries.case_events(session=session, case_id="AP-TEST")
        assert e.at == later
    store.project(ProjectionBatch(case=case(2, "in_review")))
    store.project(ProjectionBatch(case=case(1, "open")))  # late, from before: ignored
    with Session(engine) as session:
        row = queries.get_case(session=session, case_id="AP-TEST")
        assert row is not None and (row.version, row.status) == (2, "in_review")
