"""The clusters topic's histories (tests/workflows/histories/v5-clusters-*), recorded
after repeat appeals and concentrated grievances came in:

- v5-clusters-case / -task-T*: a rider's wage-arrears case that joins its clusters
  (case-joins-clusters), takes a repeat call (the ``repeat`` update), is led jointly
  by the city's 人社局 with four other districts' cases (``cluster_lead``), answered
  by the cluster's one reply (``cluster_reply``; its own tasks cancelled) and called
  back;
- v5-clusters-cluster: the ClusterWorkflow of 美团 · 拖欠劳动报酬 from its first
  member through forming, designation and the reply to its quiet end.

    .venv/bin/python -m tests.workflows.record_histories clusters
"""

from __future__ import annotations

from datetime import timedelta

from models.case import CallbackInput
from models.clusters import ClusterReplyInput, DesignateLeadInput, RepeatInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import intake, open_case, wait_status, wait_tasks
from tests.workflows.record_histories import OUT, save
from workflows.cluster import ClusterWorkflow

DISTRICTS = ("440106", "440103", "440104", "440105", "440111")
KEY = "CL-platform-wage_arrears-meituan"


async def record(stack: Stack) -> None:
    handles = []
    for i, district in enumerate(DISTRICTS):
        form = intake(
            request_id=f"replay-clusters-{i}",
            phone=f"1390013900{i}",
            workplace=district,
            residence=district,
        )
        handles.append(await open_case(stack, form))
        await wait_tasks(handles[-1], 2)
    first = handles[0]
    await first.execute_update(
        "repeat",
        RepeatInput(actor="clerk.li", request_id="replay-clusters-again", summary="再次来电"),
    )
    cluster = stack.client.get_workflow_handle(KEY)

    async def formed() -> bool:
        state = await cluster.query(ClusterWorkflow.state)
        return state.status == "formed"

    await eventually(formed)
    await cluster.execute_update(
        ClusterWorkflow.designate,
        DesignateLeadInput(actor="sup.zhang", department="hrss", region="440100", reason="跨区"),
    )
    await cluster.execute_update(
        ClusterWorkflow.reply, ClusterReplyInput(actor="hrss.city.wang", text="工资已足额支付")
    )
    for h in handles:
        await wait_status(h, "awaiting_callback")
        await h.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, first, "v5-clusters")
    await stack.env.sleep(timedelta(days=8))  # quiet for a window: the cluster ends
    await cluster.result()
    history = await cluster.fetch_history()
    (OUT / "v5-clusters-cluster.json").write_text(history.to_json())
    print("saved v5-clusters-cluster.json")
