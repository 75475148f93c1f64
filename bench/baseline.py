"""Baseline workflows for the benchmark: what Temporal alone costs on the same server.

They live in their own module (not in ``throughput.py``) so the workflow sandbox can
import them cheaply, exactly as it imports the engine's workflows.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@workflow.defn
class Bare:
    """A workflow that returns at once: one workflow task, no activities."""

    @workflow.run
    async def run(self) -> None:
        return None


@activity.defn
async def touch(value: str) -> str:
    """An activity that returns its argument: one trip through the activity queue."""
    return value


@workflow.defn
class WithActivity:
    """A workflow that runs one trivial activity through the server's activity queue,
    then returns: two workflow tasks and one activity task, the smallest unit of
    real work (a case is a few of these, plus children and signals)."""

    @workflow.run
    async def run(self, value: str) -> str:
        result: str = await workflow.execute_activity(
            touch, value, start_to_close_timeout=timedelta(seconds=30)
        )
        return result


@workflow.defn
class Echo:
    """A workflow that stays open and answers an Update at once: the floor of an
    Update round trip (no validator, no activity, no signal)."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def ping(self, text: str) -> str:
        return text

    @workflow.signal
    def finish(self) -> None:
        self._done = True
