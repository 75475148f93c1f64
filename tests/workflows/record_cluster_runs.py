"""The cluster's bounded history, recorded on the time-skipping server:

- v12-cluster-slim-cluster / -cluster-run<k> (STEM): a ClusterWorkflow of 美团 · 拖欠劳动报酬
  whose runs continue as new by their history's length
  (patches.CLUSTER_BOUNDED_HISTORY): twelve riders in turn across Guangzhou's districts
  join; it forms at five (社会工作部 mailed) and continues as new each time its run's
  history passes 60 events; a continued run projects only the members that join it,
  not the whole list again. A supervisor designates the city's 人社局 to lead, and
  twelve more join: each is told of the lead once, and no run tells the earlier ones
  again. Once formed, each run carries its projected members by case id alone
  (patches.CLUSTER_SLIM_MEMBERS).
- v11-cluster-runs-cluster / -cluster-run<k>: the same, recorded before
  CLUSTER_SLIM_MEMBERS (every run carried its members whole).

Run by hand::

    .venv/bin/python -m tests.workflows.record_histories cluster_runs
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.service import RPCError

from models.clusters import ClusterInput, ClusterMember, ClusterState, DesignateLeadInput
from tests.conftest import Stack, eventually
from tests.workflows.record_histories import save_runs
from workflows.cluster import ClusterWorkflow

KEY = "CL-platform-wage_arrears-meituan"
DISTRICTS = ("440103", "440104", "440105", "440106", "440111")
JOINS = 12
SUPERVISION = "social_work.city@appeals.example"
SUPERVISOR = "sup.zhang"
STEM = "v12-cluster-slim-cluster"


def bounded_cluster(cluster_id: str, *, events: int) -> ClusterInput:
    """A platform cluster that continues as new after ``events`` history events (and
    never by its count of joins)."""
    return ClusterInput(
        cluster_id=cluster_id,
        rule="platform",
        category="wage_arrears",
        category_label="拖欠劳动报酬",
        platform="meituan",
        key_label="美团 · 拖欠劳动报酬",
        supervision_mailbox=SUPERVISION,
        supervisors=[SUPERVISOR],
        departments=["hrss"],
        threshold=5,
        window="7d",
        window_seconds=7 * 86400,
        continue_after=10_000,
        continue_after_events=events,
    )


async def join(stack: Stack, inp: ClusterInput, i: int) -> None:
    district = DISTRICTS[i % len(DISTRICTS)]
    await stack.client.start_workflow(
        ClusterWorkflow.run,
        inp,
        id=inp.cluster_id,
        task_queue=stack.task_queue,
        start_signal="join",
        start_signal_args=[
            ClusterMember(
                case_id=f"AP-RUNS{i:05d}",
                opened_at=datetime(2027, 1, 4, 9, tzinfo=UTC),
                region=district,
                place=district,
                department="hrss",
            )
        ],
    )


async def cluster_with(stack: Stack, cluster_id: str, n: int, *, runs: int = 1) -> ClusterState:
    """The cluster's state once it holds ``n`` members in its ``runs``-th run or later."""

    async def check() -> ClusterState | None:
        try:
            # A query that reaches a run as it continues as new can go unanswered:
            # give up on it soon and ask again.
            s: ClusterState = await stack.client.get_workflow_handle(cluster_id).query(
                ClusterWorkflow.state, rpc_timeout=timedelta(seconds=2)
            )
        except RPCError:
            return None  # between two runs (or lost in the hand-over): ask again
        return s if len(s.case_ids()) >= n and s.runs >= runs else None

    return await eventually(check)


async def record(stack: Stack) -> None:
    inp = bounded_cluster(KEY, events=60)
    for i in range(JOINS):  # one at a time, as cases come
        await join(stack, inp, i)
        # After the sixth, let the first run continue as new before the next join.
        await cluster_with(stack, KEY, i + 1, runs=2 if i >= 5 else 1)
    # 联合处置: the city's 人社局 leads; the members that join later are told of it,
    # each once, across the runs that follow.
    await stack.client.get_workflow_handle(KEY).execute_update(
        ClusterWorkflow.designate,
        DesignateLeadInput(actor=SUPERVISOR, department="hrss", region="440100", reason="跨区"),
    )
    for i in range(JOINS, 2 * JOINS):
        await join(stack, inp, i)
        await cluster_with(stack, KEY, i + 1, runs=4 if i == 2 * JOINS - 1 else 1)
    # The last run is saved while it waits for more joins (a replay ends where the
    # history does); v5-clusters-cluster already replays a cluster's end.
    await save_runs(stack, KEY, STEM)
