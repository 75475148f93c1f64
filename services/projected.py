"""Read-your-writes for an action: the API answers once the read model shows it.

An action's Update answers as soon as the workflow has applied it, with the version
its projection carries; the projection is written after the Update is in the history
(workflows/after_commit.py), a few milliseconds later. A task's answer also carries
that projection (patches.ANSWER_CARRIES_PROJECTION), which the API writes itself
(``written_through``): the Update is in the history once it answers, and the store's
upserts take the activity's write of the same rows before or after. Otherwise, or
when that write fails, the API waits for the row to reach the version, so the page
the person is sent to next shows what they did. It never waits longer than
``PROJECTION_WAIT``: the action stands either way, and the read model catches up (a
failed write leaves its note in ``projection_lag``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from activities.store import write_answer
from db.tables import CaseRow, TaskRow
from models.tasks import ActionResult
from services.offloop import off_loop
from workflows.policies import PROJECTION_WAIT

log = logging.getLogger(__name__)

FIRST_LOOK = 0.005  # seconds; the write usually lands within a few milliseconds
LOOK_EVERY = 0.05  # at most, in between looks


def _version(engine: Engine, table: Any, key: Any) -> int | None:
    with Session(engine) as session:
        found: int | None = session.execute(select(col(table.version)).where(key)).scalar()
        return found


async def _until(engine: Engine, table: Any, key: Any, version: int, what: str) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROJECTION_WAIT.total_seconds()
    pause = FIRST_LOOK
    while True:
        try:
            # Each look bounded by what is left of the wait: a pool checkout or a lock
            # can otherwise hold it for 30 s.
            async with asyncio.timeout(max(deadline - loop.time(), FIRST_LOOK)):
                have = await off_loop(_version, engine, table, key)
        except (SQLAlchemyError, TimeoutError) as e:
            # The action is done; a read model that does not answer only ends the wait.
            log.warning("read model unavailable while waiting for %s v%d: %r", what, version, e)
            return False
        if have is not None and have >= version:
            return True
        if loop.time() + pause > deadline:
            wait = PROJECTION_WAIT.total_seconds()
            log.warning("read model behind: %s v%d not projected within %ss", what, version, wait)
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, LOOK_EVERY)


async def written_through(engine: Engine, answer: ActionResult) -> bool:
    """Write an action's projection from its answer; whether the read model shows the
    action now. False (and nothing lost) when the answer holds none, or when the
    worker's writes must land first (activities.store.write_answer): then wait."""
    if answer.projection is None:
        return False
    try:
        async with asyncio.timeout(PROJECTION_WAIT.total_seconds()):
            return await off_loop(write_answer, engine, answer.projection, answer.clocks_since)
    except (SQLAlchemyError, TimeoutError) as e:
        log.warning("could not write the answer's projection; waiting for the worker's: %r", e)
        return False


async def task_projected(engine: Engine, task_id: str, version: int | None) -> bool:
    """Wait (at most PROJECTION_WAIT) for the task's row to reach ``version``; whether
    it did."""
    if version is None:
        return True  # an older run: its Update waited for its projection itself
    return await _until(engine, TaskRow, col(TaskRow.task_id) == task_id, version, task_id)


async def case_projected(engine: Engine, case_id: str, version: int) -> bool:
    """Wait (at most PROJECTION_WAIT) for the case's row to reach ``version``; whether
    it did."""
    return await _until(engine, CaseRow, col(CaseRow.case_id) == case_id, version, case_id)
