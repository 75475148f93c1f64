"""Deterministic bookkeeping for a workflow's writes to the read model."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from models.events import AuditEvent, ProjectionBatch
    from workflows.policies import STORE_RETRY, STORE_TIMEOUT


class Projector:
    """Numbers a workflow's audit events and projection versions.

    The numbers come from workflow state, so replay and activity retries produce
    the same keys and the store can drop duplicates.
    """

    def __init__(self, *, workflow_id: str, case_id: str) -> None:
        self._workflow_id = workflow_id
        self._case_id = case_id
        self._events = 0
        self._version = 0

    def bump(self) -> int:
        self._version += 1
        return self._version

    def event(
        self,
        action: str,
        *,
        actor: str | None,
        detail: str | None,
        task_id: str | None = None,
        data: dict[str, object] | None = None,
    ) -> AuditEvent:
        self._events += 1
        return AuditEvent(
            key=f"{self._workflow_id}#{self._events}",
            case_id=self._case_id,
            task_id=task_id,
            at=workflow.now(),
            actor=actor,
            action=action,
            detail=detail,
            data=data or {},
        )

    async def write(self, batch: ProjectionBatch) -> None:
        await workflow.execute_activity_method(
            StoreActivities.project,
            batch,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
