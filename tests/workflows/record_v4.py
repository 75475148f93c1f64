"""The v4 histories (tests/workflows/histories/v4-*), recorded after the issue-11
workflow changes (v3 is left to the branch that records its own):

- v4-night: a wage-arrears case opened Thu 2026-12-31 10:00 is urged once
  (urge-one-timeline-row, in both tasks), left until the sign-for clocks breach at
  17:30 on Mon 2027-01-04, noted at once and mailed the next morning
  (breach-noted-at-once), then handled, replied and called back.

    .venv/bin/python -m tests.workflows.record_histories v4
"""

from __future__ import annotations

from datetime import datetime

from models.case import UrgeInput
from tests.conftest import Stack
from tests.scenario import at
from tests.workflows.helpers import answer_and_call_back, intake, open_case, wait_tasks
from tests.workflows.record_histories import save


async def travel_to(stack: Stack, when: datetime) -> None:
    now = await stack.env.get_current_time()
    await stack.env.sleep(when - now)


async def night(stack: Stack) -> None:
    await travel_to(stack, at("2026-12-31T10:00"))
    handle = await open_case(stack, intake(request_id="replay-night-v4"))
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请本周内办结"))
    await travel_to(stack, at("2027-01-04T20:00"))  # breached at 17:30
    await travel_to(stack, at("2027-01-05T09:30"))  # rung 1 mailed at 09:00
    await answer_and_call_back(stack, handle, [(co, "工会意见：支持劳动者"), (lead, "已足额支付")])
    await save(stack, handle, "v4-night")


async def record(stack: Stack) -> None:
    await night(stack)
