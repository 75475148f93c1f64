"""The store activity against real read models — SQLite (embedded) and PostgreSQL
(production), same code: retries never duplicate, late writes never go backwards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from activities.store import StoreActivities, note_lag, write_answer
from auth.identity import principal_for
from db import queries
from db.tables import CaseRow, DeadlineRow, EventRow, ProjectionLagRow, TaskRow
from models.events import (
    AuditEvent,
    CaseProjection,
    DeadlineProjection,
    ProjectionBatch,
    TaskProjection,
)
from services.context import Context
from services.supervision import overdue
from settings import Settings

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture
def engine(read_model: Engine) -> Engine:
    return read_model


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


def lag_notes(engine: Engine) -> list[tuple[str, int]]:
    with Session(engine) as session:
        return [(r.workflow_id, r.attempts) for r in session.exec(select(ProjectionLagRow))]


def test_an_attempt_failing_after_its_retry_wrote_leaves_no_lag(engine: Engine) -> None:
    """A timed-out attempt (blocked on a locked database) fails after the retry that
    replaced it has written the batch: the read model is not behind, and no note says
    it is, for no later write of a closed task would ever clear it."""
    store = StoreActivities(engine)
    batch = ProjectionBatch(
        case=case(1, "open"), task=task(2, "dispatched"), events=[event(1, "opened")]
    )
    locked = RuntimeError("database is locked")
    note_lag(engine, batch, "AP-TEST-T1", locked)  # the first attempt fails in time
    assert lag_notes(engine) == [("AP-TEST-T1", 1)]
    store.project(batch)  # its retry writes, and clears the note
    assert lag_notes(engine) == []
    note_lag(engine, batch, "AP-TEST-T1", locked)  # a stale attempt fails after that
    assert lag_notes(engine) == []
    # A newer version that has not landed is still noted, with its events.
    newer = ProjectionBatch(task=task(3, "accepted"), events=[event(2, "accepted")])
    note_lag(engine, newer, "AP-TEST-T1", locked)
    assert lag_notes(engine) == [("AP-TEST-T1", 1)]
    store.project(ProjectionBatch(task=task(3, "accepted")))  # the row, not the event
    note_lag(engine, newer, "AP-TEST-T1", locked)
    assert lag_notes(engine) == [("AP-TEST-T1", 1)]  # the event is still missing
    store.project(newer)
    assert lag_notes(engine) == []
    note_lag(engine, newer, "AP-TEST-T1", locked)
    assert lag_notes(engine) == []


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


def test_every_filter_plan_pages_the_list_the_same_way(engine: Engine) -> None:
    """Offices, a department's category and the due-time walk take different plans
    (db.queries); each page must be the head of the one list, filtered: one row per
    task (its earliest clock in the window), most late first."""
    store = StoreActivities(engine)
    offices = [("hrss", "440106"), ("hrss", "440105"), ("samr", "440106")]
    base = task(1, "accepted")
    for i in range(12):
        department, region = offices[i % 3]
        sign_for = base.deadlines[0].model_copy(update={"due_at": T0 + timedelta(hours=5 * i)})
        # Every other task also runs a reply clock, due before or after its sign-for.
        reply = sign_for.model_copy(
            update={"clock": "reply", "label": "答复", "due_at": T0 + timedelta(hours=37 - 3 * i)}
        )
        store.project(
            ProjectionBatch(
                case=case(1, "open").model_copy(update={"case_id": f"AP-{i:02d}"}),
                task=base.model_copy(
                    update={
                        "task_id": f"AP-{i:02d}-T1",
                        "case_id": f"AP-{i:02d}",
                        "department": department,
                        "region": region,
                        "category": ("wage_arrears", "housing")[i % 2 if i < 6 else i // 6],
                        "deadlines": [sign_for, reply] if i % 2 else [sign_for],
                    }
                ),
            )
        )
    now, soon = T0 + timedelta(hours=30), T0 + timedelta(hours=50)
    with Session(engine) as session:
        everything = {
            r.task.task_id: r
            for r in queries.iter_overdue_tasks(session=session, now=T0 + timedelta(days=9))
        }
        assert len(everything) == 12
        district = {t for t, r in everything.items() if r.task.region == "440106"}
        combos: list[dict[str, str]] = [{}]
        singles = [
            {"department": "hrss"},
            {"department": "hrss", "region": "440105"},
            {"category": "housing"},
            {"clock": "reply"},
            {"within": "yes"},
        ]
        combos += singles + [a | b for a, b in itertools.combinations(singles, 2)]
        for f in combos:
            # "Due within": the window [now, soon) instead of everything before now.
            end, start = (soon, now) if f.get("within") else (now, None)
            query = {k: v for k, v in f.items() if k != "within"}
            expected = expected_overdue(session, query, end, start)
            # A district supervisor's scope (services.scope) is a condition on tasks.
            in_district = [e for e in expected if e[0] in district]
            for (where, want), limit in itertools.product(
                [(None, expected), (col(TaskRow.region) == "440106", in_district)], (None, 3)
            ):
                got = queries.overdue_tasks(
                    session=session,
                    now=end,
                    due_from=start,
                    department=query.get("department"),
                    region=query.get("region"),
                    clock=query.get("clock"),
                    category=query.get("category"),
                    limit=limit,
                    where=where,
                )
                assert [(r.task.task_id, r.deadline.clock) for r in got] == want[:limit], f
                assert all(r.case.case_id == r.task.case_id for r in got)


def expected_overdue(
    session: Session, f: dict[str, str], now: datetime, due_from: datetime | None = None
) -> list[tuple[str, str]]:
    """The list by hand: each task's earliest running clock in the window, filtered."""
    first: dict[str, tuple[datetime, str]] = {}
    for d in session.scalars(select(DeadlineRow)).all():
        due = d.running_due_at
        if due is None or due >= now or (due_from is not None and due < due_from):
            continue
        if f.get("clock", d.clock) != d.clock:
            continue
        first[d.task_id] = min(first.get(d.task_id, (due, d.clock)), (due, d.clock))
    out = []
    for task_id, (due, clock) in first.items():
        t = queries.get_task(session=session, task_id=task_id)
        assert t is not None
        if all(getattr(t, k) == v for k, v in f.items() if k != "clock"):
            out.append((due, task_id, clock))
    return [(task_id, clock) for _, task_id, clock in sorted(out)]


def test_a_page_of_the_overdue_list_is_one_query_without_the_workers_particulars(
    engine: Engine, settings: Settings
) -> None:
    """What the overdue list shows comes in one query, which reads none of the case's
    personal columns (queries.OVERDUE_LOAD): nothing is fetched row by row later."""
    batch = ProjectionBatch(case=case(1, "open"), task=task(1, "dispatched"))
    StoreActivities(engine).project(batch)
    ctx = Context(settings=settings.model_copy(update={"temporal_address": None}), engine=engine)
    city = principal_for(ctx.rules, "sup.zhang")
    assert city is not None
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sqlalchemy.event.listen(engine, "before_cursor_execute", note)
    try:
        late = T0 + timedelta(days=3)
        (row,) = overdue(ctx, city, limit=50, now=late)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", note)
    assert (row["task"], row["case"], row["category"]) == ("AP-TEST-T1", "AP-TEST", "wage_arrears")
    assert row["clock"] == "sign_for" and row["status"] == "dispatched"
    selects = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
    for particular in ("phone", "name", "id_number", "summary", "residence"):
        assert f"cases.{particular}" not in selects[0]


def test_an_answer_is_written_only_over_the_version_its_clocks_count_from(
    engine: Engine,
) -> None:
    """An action's answer (activities.store.write_answer) holds only the clocks changed
    since a version: over an older row it writes nothing and says so (the caller waits
    for the worker), over that version it writes, over a newer row only its events."""
    store = StoreActivities(engine)
    store.project(ProjectionBatch(case=case(1, "open"), task=task(1, "dispatched")))
    extended = (
        task(1, "dispatched").deadlines[0].model_copy(update={"due_at": T0 + timedelta(days=3)})
    )

    def answer(version: int, clocks: list[DeadlineProjection], n: int) -> ProjectionBatch:
        changed = task(version, "dispatched").model_copy(update={"deadlines": clocks})
        return ProjectionBatch(task=changed, events=[event(n, "note")])

    def read() -> tuple[int, datetime | None, list[str]]:
        with Session(engine) as session:
            row = session.get(TaskRow, "AP-TEST-T1")
            clock = session.get(DeadlineRow, ("AP-TEST-T1", "sign_for"))
            keys = session.exec(select(EventRow.key).order_by(col(EventRow.key))).all()
            assert row is not None and clock is not None
            due = clock.due_at.replace(tzinfo=UTC) if clock.due_at else None
            return row.version, due, list(keys)

    # Counted from v2, which the read model does not have yet: nothing is written.
    assert write_answer(engine, answer(3, [], 3), clocks_since=2) is False
    first_due = task(1, "dispatched").deadlines[0].due_at
    assert read() == (1, first_due, [])
    # Counted from v1, which it has: the row, the changed clock and the event.
    assert write_answer(engine, answer(2, [extended], 2), clocks_since=1) is True
    assert read() == (2, extended.due_at, ["AP-TEST#2"])
    # Sent again, or after the worker's write of v2: the row stays, the event is once.
    worker = task(2, "dispatched").model_copy(update={"deadlines": [extended]})
    store.project(ProjectionBatch(task=worker, events=[event(2, "note")]))
    assert write_answer(engine, answer(2, [extended], 2), clocks_since=1) is True
    assert read() == (2, extended.due_at, ["AP-TEST#2"])
    # Every clock (a status change): written over whatever version is there.
    assert write_answer(engine, answer(4, [extended], 4), clocks_since=None) is True
    assert read()[0] == 4
    # A purged case takes nothing back.
    with Session(engine) as session:
        row = session.get(CaseRow, "AP-TEST")
        assert row is not None
        row.purged_at = T0
        session.add(row)
        session.commit()
    assert write_answer(engine, answer(5, [extended], 5), clocks_since=None) is False
    assert read() == (4, extended.due_at, ["AP-TEST#2", "AP-TEST#4"])
