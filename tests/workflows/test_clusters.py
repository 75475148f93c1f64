"""Concentrated grievances (集中诉求) on the time-skipping server: five riders of one
platform in five districts form a cluster, 社会工作部 and the department's head are
mailed, a supervisor designates one lead office, and its one reply reaches every
member, each worker still called back on their own case."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.service import RPCError

from db.tables import ClusterMemberRow, ClusterRow
from models.case import CallbackInput
from models.clusters import (
    ClusterInput,
    ClusterMember,
    ClusterProjection,
    ClusterState,
    DesignateLeadInput,
)
from services import clusters
from services.errors import Conflict, Forbidden
from tests.conftest import Stack, eventually
from tests.smtp import SmtpServer
from tests.workflows.helpers import (
    accepted_updates,
    case_state,
    events,
    intake,
    open_case,
    projected,
    runs_of,
    wait_status,
    wait_tasks,
)
from tests.workflows.intake_helpers import person, services_for
from tests.workflows.record_cluster_runs import SUPERVISOR, bounded_cluster, cluster_with, join
from tests.workflows.test_dispatch import refused
from workflows.cluster import ClusterWorkflow

# 荔湾, 越秀, 海珠, 天河, 白云: one platform, one category, five district offices.
DISTRICTS = ("440103", "440104", "440105", "440106", "440111")
KEY = "CL-platform-wage_arrears-meituan"


async def cluster_row(stack: Stack, status: str, size: int) -> dict[str, Any]:
    """The cluster's row once it shows both the status and the member count: members
    are projected after the status, so a status alone may come with a stale size."""
    ctx = await services_for(stack)
    city = person(stack, "sup.zhang")

    async def check() -> dict[str, Any] | None:
        rows = [
            r for r in clusters.list_clusters(ctx, city, status="all") if r["workflow_id"] == KEY
        ]
        found = rows[0] if rows else None
        return found if found and (found["status"], found["size"]) == (status, size) else None

    return await eventually(check)


async def test_a_cluster_forms_across_districts_and_gets_one_lead_and_one_reply(
    clock_stack: Stack, smtp: SmtpServer
) -> None:
    # A server of its own: cluster workflow ids are the key's (one per deployment), and
    # other tests' cases of this key joined clusters on their own, finished task queues.
    stack = clock_stack
    handles = []
    for i, district in enumerate(DISTRICTS):
        form = intake(phone=f"1390013900{i}", workplace=district, residence=district)
        handles.append(await open_case(stack, form))
        await wait_tasks(handles[-1], 2)
        if i == 3:  # four of five: still forming, nobody alerted
            forming = await cluster_row(stack, "forming", 4)
            assert forming["size"] == 4
            assert not [m for m in smtp.inbox.messages() if "集中诉求" in str(m["Subject"])]
    formed = await cluster_row(stack, "formed", 5)
    assert formed["size"] == 5 and formed["threshold"] == 5 and formed["window"] == "7d"
    assert [p["code"] for p in formed["places"]] == sorted(DISTRICTS)
    assert {m["case_id"] for m in formed["members"]} == {h.id for h in handles}
    assert (await case_state(handles[0])).clusters == [KEY, "CL-place-wage_arrears-440103"]

    # 社会工作部 and the owning department's head (the city's 人社局) hear of it at once.
    async def alerted() -> list[str] | None:
        found = [m["To"] for m in smtp.inbox.messages() if "集中诉求" in str(m["Subject"])]
        return found or None

    [to] = await eventually(alerted)
    assert "social_work.city@appeals.example" in to and "hrss.city.head@appeals.example" in to

    # A district supervisor sees the cluster (one member is theirs); a district with
    # none of its members does not.
    ctx = await services_for(stack)
    assert [r["id"] for r in clusters.list_clusters(ctx, person(stack, "sup.tianhe.ma"))] == [
        formed["id"]
    ]
    assert clusters.list_clusters(ctx, person(stack, "sup.panyu.ou")) == []
    with pytest.raises(Forbidden):
        await clusters.designate_lead(
            ctx,
            person(stack, "sup.panyu.ou"),
            str(formed["id"]),
            {"department": "hrss", "region": "440100", "reason": "跨区集中诉求"},
        )
    # The workflow's validator refuses a non-supervisor before anything is written.
    handle = stack.client.get_workflow_handle(KEY)
    before = await accepted_updates(stack, KEY)
    await refused(
        handle.execute_update(
            ClusterWorkflow.designate,
            DesignateLeadInput(actor="clerk.li", department="hrss", region="440100", reason="xx"),
        ),
        "clerk.li is not a supervisor",
    )
    assert await accepted_updates(stack, KEY) == before

    # 联合处置: the city's 人社局 leads all five.
    city = person(stack, "sup.zhang")
    designated = await clusters.designate_lead(
        ctx,
        city,
        str(formed["id"]),
        {"department": "hrss", "region": "440100", "reason": "跨区集中诉求"},
    )
    assert (designated["status"], designated["lead_office"]) == (
        "designated",
        "广州市人力资源和社会保障局",
    )
    with pytest.raises(Conflict, match="designated once"):
        await clusters.designate_lead(
            ctx,
            city,
            str(formed["id"]),
            {"department": "hrss", "region": "440100", "reason": "再次"},
        )

    async def told(case_id: str) -> bool:
        return any(e.action == "joint_handling" for e in events(stack, case_id))

    for h in handles:
        await eventually(lambda h=h: told(h.id))  # type: ignore[misc]
        assert (await case_state(h)).cluster_lead == "广州市人力资源和社会保障局"

    # Only the lead office replies, once, for everyone.
    with pytest.raises(Forbidden):
        await clusters.reply(
            ctx, person(stack, "hrss.tianhe.wang"), str(formed["id"]), {"text": "已处理"}
        )
    replied = await clusters.reply(
        ctx,
        person(stack, "hrss.city.wang"),
        str(formed["id"]),
        {"text": "已约谈平台，五名骑手工资已足额支付"},
    )
    assert replied["status"] == "replied"
    for h in handles:
        state = await wait_status(h, "awaiting_callback")
        assert state.reply == "已约谈平台，五名骑手工资已足额支付"

        # The member's own tasks end; nobody is left working on it twice.
        async def ended(h: Any = h) -> bool:
            return not [t for t in (await case_state(h)).tasks if t.status.is_open]

        await eventually(ended)
        await projected(stack, h.id)

    # Each worker is still called back on their own case.
    await handles[0].execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    assert (await wait_status(handles[0], "closed")).callback is not None
    assert (await case_state(handles[1])).status.value == "awaiting_callback"


async def test_a_busy_cluster_continues_as_new_and_keeps_its_members(stack: Stack) -> None:
    wid = f"CL-test-{uuid.uuid4().hex[:8]}"
    inp = ClusterInput(
        cluster_id=wid,
        rule="platform",
        category="wage_arrears",
        platform="meituan",
        threshold=3,
        window="7d",
        window_seconds=7 * 86400,
        continue_after=2,
    )
    for i in range(7):
        member = ClusterMember(
            case_id=f"AP-TEST{i:05d}",
            opened_at=datetime(2026, 12, 1, tzinfo=UTC),
            region="440106",
            place="440106",
        )
        await stack.client.start_workflow(
            ClusterWorkflow.run,
            inp,
            id=wid,
            task_queue=stack.task_queue,
            start_signal="join",
            start_signal_args=[member],
        )

    async def settled() -> ClusterState | None:
        try:
            s: ClusterState = await stack.client.get_workflow_handle(wid).query(
                ClusterWorkflow.state
            )
        except RPCError:
            return None  # between two runs: ask the next one
        return s if len(s.case_ids()) == 7 and s.runs > 1 else None

    state = await eventually(settled)
    assert state.status == "formed" and state.runs >= 2
    history = await stack.client.get_workflow_handle(wid).fetch_history()
    assert len(history.events) < 80  # this run's history only, not all seven joins'

    # The read model has every member once, whichever run projected it.
    async def all_projected() -> list[str] | None:
        with Session(stack.engine) as session:
            rows = session.execute(
                select(col(ClusterMemberRow.case_id)).where(
                    col(ClusterMemberRow.cluster_id) == state.row_id
                )
            ).scalars()
            found = sorted(rows)
            size = session.get(ClusterRow, state.row_id)
        return found if len(found) == 7 and size is not None and size.size == 7 else None

    assert await eventually(all_projected) == [f"AP-TEST{i:05d}" for i in range(7)]


async def test_a_cluster_continues_as_new_by_its_history_and_sends_only_new_members(
    stack: Stack,
) -> None:
    """However slowly members come, a run's history stays short (a worker that lost the
    cluster from its cache replays it for the next join), and a continued run projects
    only the members that joined it."""
    wid = f"CL-test-{uuid.uuid4().hex[:8]}"
    inp = bounded_cluster(wid, events=60)
    for i in range(12):
        await join(stack, inp, i)
        await cluster_with(stack, wid, i + 1)
    state = await cluster_with(stack, wid, 12, runs=2)
    runs = await runs_of(stack, wid)
    assert len(runs) >= 2
    # A run ends soon after its history passes 60 events: a join's dozen, a failed
    # task or two when a join races the continue-as-new, not a dozen more joins.
    assert all(len(r.events) < 60 + 40 for r in runs[:-1])

    # Each run after the first projects only the members that joined it.
    earlier: set[str] = set()
    for history in runs:
        sent: set[str] = set()
        for e in history.events:
            if e.HasField("activity_task_scheduled_event_attributes"):
                a = e.activity_task_scheduled_event_attributes
                if a.activity_type.name == "project_cluster":
                    [p] = await stack.client.data_converter.decode(
                        a.input.payloads, [ClusterProjection]
                    )
                    sent |= {m.case_id for m in p.members}
        assert not sent & earlier
        earlier |= sent
    assert len(earlier) == 12

    # And the read model has every member once.
    async def all_projected() -> list[str] | None:
        with Session(stack.engine) as session:
            found = sorted(
                session.execute(
                    select(col(ClusterMemberRow.case_id)).where(
                        col(ClusterMemberRow.cluster_id) == state.row_id
                    )
                ).scalars()
            )
            row = session.get(ClusterRow, state.row_id)
        return found if row is not None and row.size == 12 and len(found) == 12 else None

    assert await eventually(all_projected) == [f"AP-RUNS{i:05d}" for i in range(12)]


async def test_a_designated_cluster_tells_each_member_of_its_lead_once_across_runs(
    stack: Stack,
) -> None:
    wid = f"CL-test-{uuid.uuid4().hex[:8]}"
    inp = bounded_cluster(wid, events=60)
    for i in range(6):
        await join(stack, inp, i)
        await cluster_with(stack, wid, i + 1)
    await stack.client.get_workflow_handle(wid).execute_update(
        ClusterWorkflow.designate,
        DesignateLeadInput(actor=SUPERVISOR, department="hrss", region="440100", reason="跨区"),
    )
    for i in range(6, 18):
        await join(stack, inp, i)
        await cluster_with(stack, wid, i + 1)
    runs = await runs_of(stack, wid)
    assert len(runs) >= 3  # the lead was told across continue-as-new
    told = Counter(
        e.signal_external_workflow_execution_initiated_event_attributes.workflow_execution.workflow_id
        for history in runs
        for e in history.events
        if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
    )
    assert told == Counter({f"AP-RUNS{i:05d}": 1 for i in range(18)})


async def test_a_formed_cluster_carries_its_members_by_case_id(stack: Stack) -> None:
    """Once formed and in the read model, a member goes on to the next run as its case id
    alone: a cluster of thousands stays cheap to continue and to replay."""
    wid = f"CL-test-{uuid.uuid4().hex[:8]}"
    inp = bounded_cluster(wid, events=60)
    for i in range(12):
        await join(stack, inp, i)
        await cluster_with(stack, wid, i + 1)
    await cluster_with(stack, wid, 12, runs=2)
    runs = await runs_of(stack, wid)
    carried = []
    for history in runs[1:]:
        start = history.events[0].workflow_execution_started_event_attributes
        [given] = await stack.client.data_converter.decode(start.input.payloads, [ClusterInput])
        assert given.carried is not None
        carried.append(given.carried)
    # Formed at five (bounded_cluster's threshold): no run after that carries one whole.
    formed = [c for c in carried if c.status != "forming"]
    assert formed and all(not c.members for c in formed)
    assert formed[-1].ids == [f"AP-RUNS{i:05d}" for i in range(len(formed[-1].ids))]
    assert len(formed[-1].ids) >= 5
