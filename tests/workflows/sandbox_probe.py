"""Workflows for tests/workflows/test_sandbox_runner.py: a parent that runs an activity,
a child and a signal to another workflow (each payload has its own serialization
context), and one that reads the wall clock, which the sandbox must refuse."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn
async def shout(word: str) -> str:
    return word.upper()


@workflow.defn
class ProbeChild:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @workflow.run
    async def run(self, word: str) -> str:
        await workflow.wait_condition(lambda: bool(self.heard))
        return f"{word}/{self.heard[0]}"

    @workflow.signal
    def hear(self, word: str) -> None:
        self.heard.append(word)


@workflow.defn
class ProbeParent:
    @workflow.run
    async def run(self, word: str) -> str:
        loud = await workflow.execute_activity(
            shout, word, start_to_close_timeout=timedelta(seconds=30)
        )
        child_id = f"{workflow.info().workflow_id}-child"
        child = await workflow.start_child_workflow(ProbeChild.run, loud, id=child_id)
        await workflow.get_external_workflow_handle(child_id).signal(ProbeChild.hear, "hi")
        return await child


@workflow.defn
class ProbeWallClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # not workflow.now(): the sandbox refuses it
