"""A worker interceptor for tests that run a worker without a workflow cache.

Local activities cannot finish in a worker that keeps no workflow in its cache (the
SDK cancels them at every eviction, i.e. after every activation), so such a worker
runs them as ordinary activities. Every worker on the task queue must then use it:
the commands differ, so a history it wrote does not replay on the normal worker.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import Priority
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)


class RemoteActivities(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Inbound


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _Outbound(WorkflowOutboundInterceptor):
    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        return self.next.start_activity(
            StartActivityInput(
                activity=input.activity,
                args=input.args,
                activity_id=input.activity_id,
                task_queue=None,
                schedule_to_close_timeout=input.schedule_to_close_timeout,
                schedule_to_start_timeout=input.schedule_to_start_timeout,
                start_to_close_timeout=input.start_to_close_timeout,
                heartbeat_timeout=None,
                retry_policy=input.retry_policy,
                cancellation_type=input.cancellation_type,
                headers=input.headers,
                disable_eager_execution=False,
                versioning_intent=None,
                summary=input.summary,
                event_groups=input.event_groups,
                priority=Priority.default,
                arg_types=input.arg_types,
                ret_type=input.ret_type,
            )
        )
