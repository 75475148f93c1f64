"""The v6-joins histories (tests/workflows/histories/v6-joins-*), recorded after a
routed case began to join its clusters through one local attempt of ``join_clusters``
(join-clusters-local-once) rather than through the activity queue:

- v6-joins-case / -task-T*: a rider's wage-arrears case that joins its two clusters
  (美团 · 拖欠劳动报酬, and the place's), then is withdrawn by the clerk.

    .venv/bin/python -m tests.workflows.record_histories joins
"""

from __future__ import annotations

from models.case import WithdrawInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import case_state, intake, open_case, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    handle = await open_case(stack, intake(request_id="replay-joins-v6"))
    await wait_tasks(handle, 2)

    async def joined() -> list[str] | None:
        return (await case_state(handle)).clusters or None

    clusters = await eventually(joined)
    assert len(clusters) == 2, clusters
    await handle.execute_update("withdraw", WithdrawInput(actor="clerk.li", reason="已和解"))
    await save(stack, handle, "v6-joins")
