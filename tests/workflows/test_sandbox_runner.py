"""The worker's runner (sandbox.py) against temporalio's own sandbox: the codec sees the
same serialization context for every payload, and workflow code is refused what the
sandbox refuses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Self

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from sandbox import RUNNER
from tests.conftest import eventually
from tests.workflows.sandbox_probe import ProbeChild, ProbeParent, ProbeWallClock, shout


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """Passes payloads through; notes the context each was encoded or decoded under."""

    def __init__(self, seen: list[str], context: SerializationContext | None = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(f"encode {self.context!r}" for _ in payloads)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(f"decode {self.context!r}" for _ in payloads)
        return list(payloads)


async def contexts_under(env: WorkflowEnvironment, runner: WorkflowRunner) -> set[str]:
    seen: list[str] = []
    config = env.client.config()
    config["data_converter"] = DataConverter(payload_codec=RecordingCodec(seen))
    client = Client(**config)
    async with Worker(
        client,
        task_queue="sandbox-probe",  # the same names in both runs: contexts name them
        workflows=[ProbeParent, ProbeChild],
        activities=[shout],
        workflow_runner=runner,
    ):
        answer = await client.execute_workflow(
            ProbeParent.run, "ok", id="sandbox-probe", task_queue="sandbox-probe"
        )
    assert answer == "OK/hi"
    return set(seen)


async def test_the_codec_sees_the_sdk_sandboxes_contexts(env: WorkflowEnvironment) -> None:
    ours = await contexts_under(env, RUNNER)
    theirs = await contexts_under(env, SandboxedWorkflowRunner())
    assert ours == theirs
    # Not only the workflow's own context: the activity's, and the child's and the
    # signalled workflow's (another workflow id), each decided per command.
    assert any("ActivitySerializationContext" in s for s in ours), ours
    assert any("workflow_id='sandbox-probe-child'" in s for s in ours), ours


async def test_workflow_code_still_cannot_read_the_wall_clock(env: WorkflowEnvironment) -> None:
    queue = f"sandbox-wall-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[ProbeWallClock], workflow_runner=RUNNER
    ):
        handle = await env.client.start_workflow(ProbeWallClock.run, id=queue, task_queue=queue)

        async def refused() -> str | None:
            async for event in handle.fetch_history_events():
                if event.HasField("workflow_task_failed_event_attributes"):
                    return event.workflow_task_failed_event_attributes.failure.message
            return None

        message = await eventually(refused)
        await handle.terminate("refused, as it should be")
    assert "datetime.datetime.now" in message, message
