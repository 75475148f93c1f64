"""A local projection that times out must replay: found by the fault harness
(bench/faults.py), where a worker killed while SQLite was locked came back to cases it
could not replay (TMPRL1100, "No command scheduled for event ActivityTaskScheduled"),
and their clocks stopped firing.

Live, a local activity past its budget fails as ``ActivityError`` (cause
``TimeoutError``); replayed from its marker, the same failure is raised as a bare
``TimeoutError``. The projector must take both to the activity queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session

from bench.chaos.parts import WriteLock
from db.tables import TaskRow
from models.case import UrgeInput
from tests.conftest import Stack, eventually
from tests.keys import sealed_converter
from tests.workflows.helpers import intake, open_case, projected, wait_tasks
from worker import replayer as worker_replayer


def priority(stack: Stack, task_id: str) -> int | None:
    with Session(stack.engine) as session:
        row = session.get(TaskRow, task_id)
        return None if row is None else row.priority


async def test_a_timed_out_local_projection_replays(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    lead = next(t for t in await wait_tasks(handle, 2) if t.role.value == "lead")
    # Everything so far written first: a write of the task's start caught by the lock
    # would time out instead, and send the 督办's write through the queue at once.
    await projected(stack, handle.id)
    lock = WriteLock(Path(stack.settings.db_url.removeprefix("sqlite:///")))
    await asyncio.to_thread(lock.acquire)
    try:
        # A 督办 reaches the task as a signal, whose new priority the task projects
        # locally (an Update's own projection goes through the activity queue:
        # workflows/after_commit.py). That write waits on the lock past its budget;
        # the projector then queues it as an activity, which waits too.
        await handle.execute_update("urge", UrgeInput(actor="sup.zhang", text="请尽快办理"))
        # Held until the task's history shows the local write's timeout, not for a fixed
        # LOCAL_ROUND: on a loaded machine the task reached the 督办 after a fixed hold
        # had ended, wrote at once, and the test proved nothing.
        await eventually(lambda: timed_out(stack, lead.task_id), timeout=60)
    finally:
        lock.release()

    async def written() -> bool:
        return priority(stack, lead.task_id) == 1

    await eventually(written, timeout=60)

    history = await stack.client.get_workflow_handle(lead.task_id).fetch_history()
    result = await worker_replayer(sealed_converter()).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


async def timed_out(stack: Stack, workflow_id: str) -> bool:
    """Whether a local activity of the workflow has failed (its marker holds the failure)."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    return any(
        e.HasField("marker_recorded_event_attributes")
        and bool(e.marker_recorded_event_attributes.failure.message)
        for e in history.events
    )
