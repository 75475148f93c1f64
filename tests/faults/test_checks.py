"""The harness's invariants are honest: each fails on the fault it is there to find (a
case lost, a task started twice, a mail doubled or never delivered, a due clock that
did not fire, a call that hung or answered 500), and passes a world without one."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from bench.chaos.checks import Run, verdict
from bench.chaos.load import Call, Handling, Intake
from bench.chaos.observe import Reconciled, Rows, Truth
from bench.chaos.parts import Delivery
from db.tables import CaseRow, DeadlineRow, EventRow, OutboxRow, TaskRow
from models.case import CaseState, CaseStatus
from models.routing import TaskRole
from models.tasks import TaskBrief, TaskStatus

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
CASE, TASK = "AP-AAAAAAAAAA", "AP-AAAAAAAAAA-T1"
RUNG = f"{TASK}:sign_for:rung-1"
T0 = NOW.timestamp()


def world() -> tuple[Run, Truth, Rows, Reconciled]:
    """One case with one task whose sign-for clock breached once and was mailed once."""
    intake = Intake({}, "r1", CASE, drill=True, tasks=1, act=None)
    task = TaskBrief(
        task_id=TASK,
        role=TaskRole.lead,
        status=TaskStatus.dispatched,
        department="hrss",
        region="440106",
        office_name="天河区人社局",
        handlers=["hrss.tianhe.wang"],
    )
    state = CaseState(
        case_id=CASE, status=CaseStatus.open, category="wage_arrears", opened_at=NOW, tasks=[task]
    )
    due = NOW - timedelta(minutes=1)
    detail = {
        "plan": "drill",
        "events": [
            {"key": "rung-1", "kind": "breach", "at": due.isoformat(), "fired_at": due.isoformat()},
            {"key": "rung-2", "kind": "breach", "at": (NOW + timedelta(minutes=1)).isoformat()},
        ],
    }
    rows = Rows(
        cases=[
            CaseRow(
                case_id=CASE,
                status="open",
                request_id="r1",
                category="wage_arrears",
                occupation="rider",
                channel="hotline",
                name="x",
                phone="x",
                summary="x",
                residence="440106",
                workplace="440106",
                opened_at=NOW,
            )
        ],
        tasks=[
            TaskRow(
                task_id=TASK,
                case_id=CASE,
                seq=1,
                role="lead",
                status="dispatched",
                department="hrss",
                region="440106",
                office_id="hrss.tianhe",
                office_name="x",
                category="wage_arrears",
                dispatched_at=NOW,
            )
        ],
        events=[
            EventRow(
                key=f"{TASK}#1",
                case_id=CASE,
                task_id=TASK,
                at=due,
                action="escalated",
                data=json.dumps({"clock": "sign_for", "event": "rung-1"}),
            )
        ],
        deadlines=[
            DeadlineRow(
                task_id=TASK,
                clock="sign_for",
                case_id=CASE,
                label="签收",
                period="1m",
                detail=json.dumps(detail),
            )
        ],
        outbox=[
            OutboxRow(
                id=RUNG,
                case_id=CASE,
                task_id=TASK,
                clock="sign_for",
                event="rung-1",
                kind="breach",
                recipients="a@x",
                subject="s",
                status="sent",
                message_id="<m1@x>",
                created_at=due,
                sent_at=due,
            )
        ],
    )
    run = Run(
        intakes=[intake],
        handling=Handling(opened={"r1": CASE}),
        calls=[Call("open", frozenset({"db-down"}), 503, 1.0, "the database did not answer")],
        kills=[T0 - 300],
        sink_outages=[(T0 - 100, T0 - 50)],
        db_stops=[],
        deliveries=[Delivery(T0 - 40, RUNG, "<m1@x>", ("a@x",))],
        cutoff=NOW,
    )
    truth = Truth(states={CASE: state}, task_workflows=[TASK])
    return run, truth, rows, Reconciled(0, [], "")


def failures(run: Run, truth: Truth, rows: Rows, rec: Reconciled) -> list[str]:
    return verdict(run, truth, rows, rec).failures


def test_a_world_without_faults_passes() -> None:
    assert failures(*world()) == []


def test_a_lost_case_fails() -> None:
    run, truth, rows, rec = world()
    truth.states.clear()
    truth.missing.append(CASE)
    assert any(f.startswith("cases lost") for f in failures(run, truth, rows, rec))


def test_a_case_missing_from_the_read_model_fails() -> None:
    run, truth, rows, rec = world()
    rows.cases.clear()
    assert any(f.startswith("cases lost") for f in failures(run, truth, rows, rec))


def test_a_task_started_twice_or_unlisted_fails() -> None:
    run, truth, rows, rec = world()
    truth.task_workflows.append(TASK)
    assert any("started twice" in f for f in failures(run, truth, rows, rec))
    run, truth, rows, rec = world()
    truth.task_workflows.append(f"{CASE}-T2")
    assert any("no case lists" in f for f in failures(run, truth, rows, rec))


def test_an_audit_event_written_twice_fails() -> None:
    run, truth, rows, rec = world()
    rows.events.append(rows.events[0].model_copy(update={"key": f"{TASK}#2", "id": None}))
    found = failures(run, truth, rows, rec)
    assert any("written twice" in f for f in found) and any("exactly once" in f for f in found)


def test_a_mail_delivered_twice_without_a_lost_acknowledgement_fails() -> None:
    run, truth, rows, rec = world()
    run.deliveries.append(Delivery(T0 - 30, RUNG, "<m1@x>", ("a@x",)))
    assert any("delivered twice" in f for f in failures(run, truth, rows, rec))


@pytest.mark.parametrize("cause", ["kill", "sink", "db"])
def test_a_mail_delivered_again_after_a_lost_acknowledgement_is_counted_not_failed(
    cause: str,
) -> None:
    run, truth, rows, rec = world()
    run.deliveries.append(Delivery(T0 - 10, RUNG, "<m1@x>", ("a@x",)))
    if cause == "kill":
        run.kills.append(T0 - 20)
    elif cause == "sink":
        run.sink_outages.append((T0 - 20, T0 - 15))
    else:
        run.db_stops.append(T0 - 20)
    v = verdict(run, truth, rows, rec)
    assert v.failures == []
    assert str(v.values[next(k for k in v.values if "delivered again" in k)]).startswith("1 ")


def test_a_mail_under_two_message_ids_fails() -> None:
    run, truth, rows, rec = world()
    run.deliveries.append(Delivery(T0 - 10, RUNG, "<m2@x>", ("a@x",)))
    run.kills.append(T0 - 20)
    assert any("two Message-IDs" in f for f in failures(run, truth, rows, rec))


def test_a_sent_row_the_sink_never_received_fails() -> None:
    run, truth, rows, rec = world()
    run.deliveries.clear()
    assert any("never received" in f for f in failures(run, truth, rows, rec))


def test_a_due_clock_that_did_not_fire_fails() -> None:
    run, truth, rows, rec = world()
    run = dataclasses.replace(run, cutoff=NOW + timedelta(minutes=2))  # rung-2 is due too
    found = failures(run, truth, rows, rec)
    assert any(f.startswith("due and not fired") for f in found)
    assert any(f.startswith("due and not mailed") for f in found)


def test_a_warning_fired_after_its_clock_was_due_is_superseded_not_mailed() -> None:
    """The engine records such a warning as ``warning_superseded`` and mails nothing;
    the same event twice still fails."""
    run, truth, rows, rec = world()
    at = NOW - timedelta(minutes=2)  # the clock was due a minute later, before it fired
    detail = json.loads(rows.deadlines[0].detail or "{}")
    detail["events"].append(
        {"key": "warning-50", "kind": "warning", "at": at.isoformat(), "fired_at": NOW.isoformat()}
    )
    rows.deadlines[0].detail = json.dumps(detail)
    superseded = EventRow(
        key=f"{TASK}#2",
        case_id=CASE,
        task_id=TASK,
        at=NOW,
        action="warning_superseded",
        data=json.dumps({"clock": "sign_for", "event": "warning-50"}),
    )
    rows.events.append(superseded)
    assert failures(run, truth, rows, rec) == []
    rows.events.append(superseded.model_copy(update={"key": f"{TASK}#3"}))
    assert any(f.startswith("due and not audited") for f in failures(run, truth, rows, rec))


@pytest.mark.parametrize(
    "call",
    [
        Call("open", frozenset(), 500, 0.5, "internal error; it has been logged"),
        Call("open", frozenset(), 0, 90.0, "ReadTimeout"),
        Call("open", frozenset(), 201, 75.0, ""),
        Call("accept", frozenset(), 409, 0.1, "line one\nline two"),
        Call("cli open", frozenset(), 1, 2.0, "Traceback (most recent call last):", cli=True),
    ],
)
def test_a_call_not_answered_cleanly_fails(call: Call) -> None:
    run, truth, rows, rec = world()
    run.calls.append(call)
    assert any("not accepted or refused cleanly" in f for f in failures(run, truth, rows, rec))


def test_reconcile_drift_fails() -> None:
    run, truth, rows, _ = world()
    drift = Reconciled(1, [{"workflow_id": TASK, "table": "tasks", "field": "status"}], "")
    assert any("reconcile" in f for f in failures(run, truth, rows, drift))
