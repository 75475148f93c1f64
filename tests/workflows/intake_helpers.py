"""Driving intake through the services (repeat matching lives there) on the
time-skipping server: a Context whose clock is the test server's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth.identity import Principal, principal_for
from routing_rules import load_ruleset
from services.context import Context
from tests.conftest import Stack
from tests.workflows.helpers import WAGE, answer_and_call_back, wait_status, wait_tasks


@dataclass
class TestClockContext(Context):
    """The services' view of "now" is the time-skipping server's, so a window of 30
    days is crossed by ``env.sleep``, as the cases' own clocks are."""

    at: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:  # type: ignore[override]
        return self.at


async def services_for(stack: Stack) -> TestClockContext:
    live = stack.settings.model_copy(update={"task_queue": stack.task_queue})
    ctx = TestClockContext(settings=live, engine=stack.engine)
    ctx._client = stack.client
    ctx.at = await stack.env.get_current_time()
    return ctx


def person(stack: Stack, staff_id: str) -> Principal:
    p = principal_for(load_ruleset(stack.settings.rules_dir), staff_id)
    assert p is not None
    return p


def call(request_id: str, **overrides: Any) -> dict[str, Any]:
    """The rider's call, as the clerk types it."""
    return {**WAGE, "request_id": request_id, **overrides}


async def close_case(stack: Stack, case_id: str) -> None:
    """Both offices answer, the case replies and the worker is called back: closed."""
    handle = stack.client.get_workflow_handle(case_id)
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await answer_and_call_back(stack, handle, [(co, "工会意见：支持劳动者"), (lead, "已足额支付")])
    await wait_status(handle, "closed")
