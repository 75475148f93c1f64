"""`appeals reconcile` against a real stack (Temporal dev server, worker, SQLite read
model): no drift on a well stack; rows edited, deleted or left without a workflow are
found, one line each and exit 1; --repair re-projects them and a second run finds 0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy import text
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from db import queries
from settings import Settings
from tests.commands.conftest import Appeals
from tests.conftest import Stack, running_stack
from tests.keys import TEST_KEYS
from tests.workflows.helpers import intake, open_case, projected, wait_tasks


@pytest_asyncio.fixture
async def dev_stack(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(dev_env, settings) as stack:
        yield stack


async def reconcile(appeals: Appeals, stack: Stack, *args: str, code: int) -> Any:
    """Run in a thread: the worker answering the command's queries runs on this loop."""
    return await asyncio.to_thread(
        appeals,
        "reconcile",
        *args,
        code=code,
        APPEALS_TEMPORAL_ADDRESS=stack.client.service_client.config.target_host,
        APPEALS_TASK_QUEUE=stack.task_queue,
        APPEALS_CODEC_KEYS=TEST_KEYS,
        APPEALS_DATABASE_URL=stack.settings.db_url,
    )


def sql(stack: Stack, statement: str) -> None:
    with stack.engine.begin() as conn:
        conn.execute(text(statement))


async def test_reconcile_finds_drift_and_repairs_it(appeals: Appeals, dev_stack: Stack) -> None:
    stack = dev_stack
    one = await open_case(stack, intake(summary="骑手工资被拖欠两个月"))
    two = await open_case(stack, intake(summary="平台扣款不合理"))
    lead = next(t for t in await wait_tasks(one, 2) if t.role.value == "lead")
    co2 = next(t for t in await wait_tasks(two, 2) if t.role.value == "co")
    for h in (one, two):
        await projected(stack, h.id)
    assert "read model matches the workflows" in (await reconcile(appeals, stack, code=0)).stdout

    sql(stack, f"UPDATE tasks SET status = 'completed' WHERE task_id = '{lead.task_id}'")
    sql(stack, f"DELETE FROM deadlines WHERE task_id = '{co2.task_id}' AND clock = 'reply'")
    sql(stack, f"DELETE FROM cases WHERE case_id = '{two.id}'")
    # A clock's copy of its task's office (the overdue page filters on it) gone wrong.
    co1 = next(t for t in await wait_tasks(one, 2) if t.role.value == "co")
    first_clock = f"(SELECT min(clock) FROM deadlines WHERE task_id = '{co1.task_id}')"
    sql(
        stack,
        f"UPDATE deadlines SET region = '440105' WHERE task_id = '{co1.task_id}'"
        f" AND clock = {first_clock}",
    )
    sql(stack, f"UPDATE cases SET phone = '13900000000' WHERE case_id = '{one.id}'")
    sql(
        stack,
        "INSERT INTO tasks (task_id, case_id, version, seq, role, status, department, region,"
        " office_id, office_name, category, dispatched_at, priority) VALUES ('AP-GONE-T1',"
        " 'AP-GONE', 3, 1, 'lead', 'accepted', 'hrss', '440106', 'x', 'x', 'wage_arrears',"
        " '2026-12-01 00:00:00', 0)",
    )

    found = await reconcile(appeals, stack, code=1)
    lines = found.stdout.strip().splitlines()
    assert f"{lead.task_id} tasks.status: row 'completed', workflow 'dispatched'" in lines
    assert f"{co2.task_id} deadlines: reply missing (workflow: running)" in lines
    assert any(line.startswith(f"{two.id} cases: missing") for line in lines)
    assert f"{one.id} cases.phone: differs (personal data)" in lines
    assert "13900000000" not in found.stdout and "13800138001" not in found.stdout
    assert "AP-GONE-T1 tasks: present (workflow: does not exist)" in lines
    assert any(
        line.startswith(f"{co1.task_id} deadlines.") and ".region: row '440105'" in line
        for line in lines
    ), lines
    assert len(lines) == 6, lines
    assert found.stderr.strip().startswith("error: 6 difference(s)")

    as_json = json.loads((await reconcile(appeals, stack, "--json", code=1)).stdout)
    assert len(as_json["drift"]) == 6 and as_json["remaining"] == as_json["drift"]

    repaired = await reconcile(appeals, stack, "--repair", code=0)
    assert "read model matches the workflows; 6 repaired" in repaired.stdout
    assert "read model matches the workflows" in (await reconcile(appeals, stack, code=0)).stdout
    with Session(stack.engine) as session:
        task = queries.get_task(session=session, task_id=lead.task_id)
        case = queries.get_case(session=session, case_id=two.id)
        gone = queries.get_task(session=session, task_id="AP-GONE-T1")
        assert task is not None and task.status == "dispatched"
        assert case is not None and case.status == "open"
        assert gone is None
    # Repairing what matches changes nothing.
    assert "6 repaired" not in (await reconcile(appeals, stack, "--repair", code=0)).stdout
