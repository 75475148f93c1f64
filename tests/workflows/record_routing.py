"""The v6-routing histories (tests/workflows/histories/v6-routing-*), recorded after a
new case whose routing timed out began to ask again rather than fail
(route-until-routed):

- v6-routing-case / -task-T*: a case whose rules did not answer for three minutes
  (its first routing gave up, it said so once and waited), then routed; withdrawn.

    .venv/bin/python -m tests.workflows.record_histories routing
"""

from __future__ import annotations

from typing import Any

from models.case import WithdrawInput
from tests.conftest import Stack
from tests.workflows.record_histories import save
from tests.workflows.test_routing_delayed import route_late


async def record(stack: Stack) -> None:
    async def withdraw_and_save(handle: Any) -> None:
        await handle.execute_update("withdraw", WithdrawInput(actor="clerk.li", reason="已和解"))
        await save(stack, handle, "v6-routing")

    await route_late(stack, "replay-routing-v6", then=withdraw_and_save)
