"""A case in 黄埔区 or 增城区 goes to that district's offices, not to the city's: the
real sample directory on the time-skipping server, through the case's own routing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError

from db import queries
from models.tasks import AcceptInput, TaskState
from tests.conftest import Stack, eventually
from tests.workflows.helpers import act, case_state, intake, open_case, task_of


async def tasks_of(handle: Any, count: int) -> list[TaskState]:
    async def check() -> list[str] | None:
        found = [t.task_id for t in (await case_state(handle)).tasks]
        return found if len(found) == count else None

    return [await task_of(handle, t) for t in await eventually(check)]


async def test_wage_arrears_in_huangpu_goes_to_huangpu_offices(stack: Stack) -> None:
    handle = await open_case(stack, intake(workplace="440112", residence="440118"))
    tasks = await tasks_of(handle, 2)
    placed = sorted((t.role.value, t.department, t.region, t.office_name) for t in tasks)
    assert placed == [
        ("co", "union", "440112", "黄埔区总工会"),
        ("lead", "hrss", "440112", "黄埔区人力资源和社会保障局"),
    ]
    lead = next(t for t in tasks if t.role.value == "lead")
    assert lead.handlers == ["hrss.huangpu.zhao"]
    # The district's handler can act on it; the city's cannot.
    with pytest.raises(WorkflowUpdateFailedError):
        await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.city.wang"))
    done = await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.huangpu.zhao"))
    assert done.status.value == "accepted"

    # The supervisors' read model says the same: the district offices hold the case.
    async def projected() -> list[tuple[str, str]] | None:
        with Session(stack.engine) as session:
            rows = queries.case_tasks(session=session, case_id=handle.id)
        found = sorted((r.office_id, r.region) for r in rows)
        return found if len(found) == 2 else None

    assert await eventually(projected) == [("hrss.huangpu", "440112"), ("union.huangpu", "440112")]


async def test_a_traffic_incident_in_zengcheng_goes_to_the_zengcheng_branch(stack: Stack) -> None:
    form = intake(
        category="traffic_violation",
        occupation="courier",
        summary="在增城区新塘镇送件时电动车被扣",
        workplace="440106",
        incident="440118",
    )
    (task,) = await tasks_of(await open_case(stack, form), 1)
    assert (task.department, task.region, task.office_name, task.handlers) == (
        "police",
        "440118",
        "广州市公安局增城区分局",
        ["police.zengcheng.tao"],
    )
