"""Property: whatever handlers and supervisors do with returns, transfers and
designations, a case always has exactly one open lead task or is in dispatch review,
and no office receives the same case more than twice.

The invariants are checked after every step, once the case has finished reacting
(its ``settling`` flag, which says nothing about the invariants themselves). A step
either takes effect, and the test checks that it did, or is refused by a validator
for one of the reasons listed in REFUSALS — before anything reaches the history.
Any other refusal, or an update accepted and then failed, fails the test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.case import CaseState, DesignateInput
from models.tasks import ReturnInput, TaskBrief, TransferInput
from tests.conftest import Stack, eventually
from tests.workflows.helpers import (
    accepted_updates,
    act,
    case_state,
    intake,
    open_case,
    task_query,
)

DEPARTMENTS = ["hrss", "samr", "union", "housing", "police", "transport", "social_work"]
REGIONS = ["440106", "440113", "440105", "440111"]
OPEN = ("dispatched", "accepted", "waiting_on_worker")
MAX_EXAMPLES = 12

# The refusals a validator may legitimately give here, by step kind. Each is the
# case's rule at work, not a fault.
REFUSALS = {
    "return": [
        "cannot be returned again",  # a designated task (派单异议审核 settled it)
        "return window",  # time-skipping may carry the task past its window
    ],
    "transfer": ["a transfer must name another department or region"],
    "designate": ["has already had this case twice"],  # no third time for an office
}


def open_leads(state: CaseState) -> list[TaskBrief]:
    return [t for t in state.tasks if t.role.value == "lead" and t.status.value in OPEN]


async def settled(stack: Stack, handle: Any) -> CaseState:
    """The case once it has finished reacting to the last step (whatever its shape),
    and has heard from every task it still counts as open (a task tells its case of
    a change a moment after the action returns: perf-case-told-in-background)."""

    async def check() -> CaseState | None:
        s = await case_state(handle)
        if s.settling:
            return None
        for t in s.tasks:
            if t.status.value in OPEN and (await task_query(stack, t.task_id)).status != t.status:
                return None
        return s

    return await eventually(check, timeout=15)


def assert_invariants(state: CaseState) -> None:
    leads = open_leads(state)
    assert state.status.value in ("open", "in_review"), state.status
    if state.status.value == "in_review":
        assert not leads, f"in review with open leads {[t.task_id for t in leads]}"
    else:
        assert len(leads) == 1, f"{len(leads)} open lead tasks: {[t.task_id for t in leads]}"
    received = Counter((t.department, t.region) for t in state.tasks)
    assert max(received.values()) <= 2, received
    assert not [t for t in state.tasks if t.designated and t.status.value == "returned"]


def assert_took_effect(kind: str, before: CaseState, after: CaseState, lead: str | None) -> None:
    statuses = {t.task_id: t.status.value for t in after.tasks}
    if kind == "return":
        assert statuses[lead or ""] == "returned"
    elif kind == "transfer":
        assert statuses[lead or ""] == "transferred"
    else:
        (new,) = open_leads(after)
        assert new.designated and new.task_id not in {t.task_id for t in before.tasks}
    assert len(after.tasks) >= len(before.tasks)


async def take(
    stack: Stack, handle: Any, kind: str, lead: TaskBrief | None, dept: str, region: str
) -> None:
    if kind == "designate":
        await handle.execute_update(
            "designate",
            DesignateInput(actor="sup.zhang", department=dept, region=region, reason="指定承办"),
        )
    elif kind == "return":
        assert lead is not None
        await act(
            stack,
            lead.task_id,
            "return",
            ReturnInput(actor=lead.handlers[0], reason="不属本单位职责", owner=dept),
        )
    else:
        assert lead is not None
        await act(
            stack,
            lead.task_id,
            "transfer",
            TransferInput(
                actor=lead.handlers[0], department=dept, region=region, reason="转有权处理单位"
            ),
        )


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """Steps over all examples: most must take effect, of every kind, and some cases
    must reach review — else the property held over nothing."""
    counts: Counter[str] = Counter()
    yield counts
    if counts["examples"] >= MAX_EXAMPLES:  # the whole property ran (not a -k subset)
        assert counts["effective"] >= 2 * counts["examples"], counts
        assert counts["effective"] >= counts["refused"], counts
        for kind in ("return", "transfer", "designate", "in_review"):
            assert counts[kind] > 0, counts


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), length=st.integers(min_value=3, max_value=7))
async def test_no_ping_pong(
    stack: Stack, tally: Counter[str], data: st.DataObject, length: int
) -> None:
    handle = await open_case(stack, intake())
    state = await settled(stack, handle)
    assert_invariants(state)
    effective = 0
    for _ in range(length):
        leads = open_leads(state)
        lead = leads[0] if leads else None
        # In review only a supervisor can act; otherwise any of the three.
        kinds = ["designate"] if lead is None else ["return", "transfer", "designate"]
        kind = data.draw(st.sampled_from(kinds), label="kind")
        dept = data.draw(st.sampled_from(DEPARTMENTS), label="department")
        region = data.draw(st.sampled_from(REGIONS), label="region")
        target = handle.id if kind == "designate" else (lead.task_id if lead else "")
        accepted = await accepted_updates(stack, target)
        try:
            await take(stack, handle, kind, lead, dept, region)
        except WorkflowUpdateFailedError as e:
            cause = e.cause
            assert isinstance(cause, ApplicationError), repr(cause)
            assert any(r in cause.message for r in REFUSALS[kind]), f"{kind}: {cause.message}"
            # A validator's refusal leaves nothing in the history.
            assert await accepted_updates(stack, target) == accepted, cause.message
            tally["refused"] += 1
            state = await settled(stack, handle)
            assert_invariants(state)
            continue
        after = await settled(stack, handle)
        assert_invariants(after)
        assert_took_effect(kind, state, after, lead.task_id if lead else None)
        effective += 1
        tally[kind] += 1
        tally["in_review"] += after.status.value == "in_review"
        state = after
    tally["examples"] += 1
    tally["effective"] += effective
    # The first step meets a fresh case: a return or transfer of its lead, or a
    # designation of any office, cannot be refused.
    assert effective >= 1
