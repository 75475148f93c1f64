"""Property: whatever handlers and supervisors do with returns, transfers and
designations, a case always has exactly one open lead task or is in dispatch review,
and no office receives the same case more than twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowUpdateFailedError

from models.case import CaseState, DesignateInput
from models.tasks import ReturnInput, TransferInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import act, case_state, intake, open_case

DEPARTMENTS = ["hrss", "samr", "union", "housing", "police", "transport", "social_work"]
REGIONS = ["440106", "440113", "440105", "440111"]

step = st.one_of(
    st.tuples(st.just("return"), st.sampled_from(DEPARTMENTS), st.just("")),
    st.tuples(st.just("transfer"), st.sampled_from(DEPARTMENTS), st.sampled_from(REGIONS)),
    st.tuples(st.just("designate"), st.sampled_from(DEPARTMENTS), st.sampled_from(REGIONS)),
)


async def settled(handle: Any) -> CaseState:
    """The case once it has finished reacting: one open lead task, or in review."""

    async def check() -> CaseState | None:
        s = await case_state(handle)
        leads = [
            t
            for t in s.tasks
            if t.role.value == "lead" and t.status.value in ("dispatched", "accepted")
        ]
        if s.status.value == "in_review":
            return s if not leads else None
        return s if len(leads) == 1 else None

    return await eventually(check, timeout=15)


def assert_invariants(state: CaseState) -> None:
    leads = [
        t
        for t in state.tasks
        if t.role.value == "lead" and t.status.value in ("dispatched", "accepted")
    ]
    assert (state.status.value == "in_review" and not leads) or len(leads) == 1
    received = Counter((t.department, t.region) for t in state.tasks)
    assert max(received.values()) <= 2, received


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=6))
async def test_no_ping_pong(stack: Stack, steps: list[tuple[str, str, str]]) -> None:
    handle = await open_case(stack, intake())
    state = await settled(handle)
    for kind, department, region in steps:
        lead = next(
            (
                t
                for t in state.tasks
                if t.role.value == "lead" and t.status.value in ("dispatched", "accepted")
            ),
            None,
        )
        try:
            if kind == "designate":
                await handle.execute_update(
                    "designate",
                    DesignateInput(
                        actor="sup.zhang", department=department, region=region, reason="指定承办"
                    ),
                )
            elif lead is not None and kind == "return":
                await act(
                    stack,
                    lead.task_id,
                    "return",
                    ReturnInput(actor=lead.handlers[0], reason="不属本单位职责", owner=department),
                )
            elif lead is not None:
                await act(
                    stack,
                    lead.task_id,
                    "transfer",
                    TransferInput(
                        actor=lead.handlers[0],
                        department=department,
                        region=region,
                        reason="转有权处理单位",
                    ),
                )
        except WorkflowUpdateFailedError:
            pass  # refused (e.g. a designated task returning, the same office): fine
        state = await settled(handle)
        assert_invariants(state)
