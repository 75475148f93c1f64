"""Deterministic bookkeeping for a workflow's writes to the read model.

Since ``patches.PROJECTION_IN_BACKGROUND`` a workflow never waits on the read model
for long: its projections are queued here and written by one background coroutine
(the projector) that retries with backoff. Case and task rows are versioned and the
store only moves a row forward, so what is still unwritten is replaced by the newest
projection; audit events are all kept, in order, and written once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from models.events import AuditEvent, CaseProjection, ProjectionBatch, TaskProjection
    from models.notify import Notification
    from workflows.policies import (
        PROJECT_BACKOFF,
        PROJECT_BACKOFF_MAX,
        PROJECT_RETRY,
        PROJECT_ROUND,
        PROJECTION_WAIT,
        STORE_RETRY,
        STORE_TIMEOUT,
    )

from workflows import patches
from workflows.after_commit import accepting_update

# A local write (patches.LOCAL_ACTIVITIES) gets this long, retries included, before the
# projector falls back to the activity queue: the action it belongs to waits that long.
LOCAL_ROUND = timedelta(seconds=2)
LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3)


class Projector:
    """Numbers a workflow's audit events and projection versions, and writes them.

    The numbers come from workflow state, so replay and activity retries produce
    the same keys and the store can drop duplicates.
    """

    def __init__(self, *, workflow_id: str, case_id: str) -> None:
        self._workflow_id = workflow_id
        self._case_id = case_id
        self._events = 0
        self._version = 0
        # The background projector's queue: what is not written yet.
        self._case: CaseProjection | None = None
        self._task: TaskProjection | None = None
        self._queued: list[AuditEvent] = []
        self._mails: list[Notification] = []
        self._queued_version = 0
        self._written = 0  # the newest version the read model has
        self._in_flight = False
        self._runner: asyncio.Task[None] | None = None

    @property
    def version(self) -> int:
        """The newest version projected (queued or written)."""
        return self._version

    @property
    def numbered(self) -> int:
        """How many audit events this workflow has numbered (all its runs)."""
        return self._events

    def resume(self, *, events: int, version: int) -> None:
        """Go on from a previous run (continue-as-new), which wrote everything it queued:
        its event keys and versions must not be used again."""
        self._events = events
        self._version = self._written = version

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

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being written: the read model is up to date."""
        return self._runner is None or (not self._has_queued() and not self._in_flight)

    async def write(self, batch: ProjectionBatch) -> int | None:
        """Write ``batch``: queued for the projector (returns its version, for
        ``settle``), or on histories from before the patch, awaited (returns None)."""
        if not patches.taken(patches.PROJECTION_IN_BACKGROUND):
            await workflow.execute_activity_method(
                StoreActivities.project,
                batch,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            return None
        self._enqueue(batch)
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return self._queued_version

    async def settle(self, version: int | None) -> None:
        """Inside an action (an Update), wait a little for ``version`` to be written, so
        the person reads their own write; never longer, and not at all elsewhere (the
        case's loop, a firing clock) where nobody reads at once."""
        if version is None or workflow.current_update_info() is None:
            return
        if accepting_update():
            # Its write waits for this task to complete, so it cannot land within it:
            # the Update answers now with the version, and the API waits for that.
            return
        try:
            await workflow.wait_condition(
                lambda: self._written >= version,
                timeout=PROJECTION_WAIT,
            )
        except TimeoutError:
            workflow.logger.warning(
                "read model behind: %s v%d not projected within %ss; the action stands",
                self._workflow_id,
                version,
                PROJECTION_WAIT.total_seconds(),
            )

    # ---- the background projector -------------------------------------------------

    def _has_queued(self) -> bool:
        return bool(self._queued or self._case or self._task or self._mails)

    def _enqueue(self, batch: ProjectionBatch) -> None:
        self._queued.extend(batch.events)
        self._mails.extend(batch.mails)
        # A newer projection of the same row supersedes one not written yet.
        if batch.case is not None and (
            self._case is None or batch.case.version > self._case.version
        ):
            self._case = batch.case
        if batch.task is not None and (
            self._task is None or batch.task.version > self._task.version
        ):
            self._task = batch.task
        for p in (batch.case, batch.task):
            if p is not None:
                self._queued_version = max(self._queued_version, p.version)

    def _take(self) -> tuple[ProjectionBatch, int]:
        batch = ProjectionBatch(
            case=self._case, task=self._task, events=self._queued, mails=self._mails
        )
        version = self._queued_version
        self._case, self._task, self._queued, self._mails = None, None, [], []
        return batch, version

    def _put_back(self, batch: ProjectionBatch) -> None:
        """A failed batch goes back in front of what was queued meanwhile."""
        newer = ProjectionBatch(
            case=self._case, task=self._task, events=self._queued, mails=self._mails
        )
        self._case, self._task = None, None
        self._queued, self._mails = list(batch.events), list(batch.mails)
        self._enqueue(ProjectionBatch(case=batch.case, task=batch.task))
        self._enqueue(newer)

    async def _run(self) -> None:
        backoff = PROJECT_BACKOFF
        local_ok = True  # the last write succeeded: try the next one locally, briefly
        while True:
            await workflow.wait_condition(self._has_queued)
            batch, version = self._take()
            self._in_flight = True
            # Not in a workflow task that accepts an Update: the write would be done
            # even if that task never completes (workflows/after_commit.py).
            local = local_ok and patches.taken(patches.LOCAL_ACTIVITIES) and not accepting_update()
            try:
                if local:
                    # In this workflow task, with a short budget: a local activity holds
                    # the task (and so the action's answer) for as long as it runs.
                    await workflow.execute_local_activity_method(
                        StoreActivities.project,
                        batch,
                        start_to_close_timeout=LOCAL_ROUND,
                        schedule_to_close_timeout=LOCAL_ROUND,
                        retry_policy=LOCAL_RETRY,
                    )
                else:
                    await workflow.execute_activity_method(
                        StoreActivities.project,
                        batch,
                        start_to_close_timeout=STORE_TIMEOUT,
                        schedule_to_close_timeout=PROJECT_ROUND,
                        retry_policy=PROJECT_RETRY,
                    )
            # Any failure of the write: an ActivityError through the queue; locally, the
            # activity's own error (an ApplicationError), and a local activity past its
            # budget raises an ActivityError live but a bare TimeoutError on replay (its
            # marker holds the timeout alone): catching only the first made a worker
            # that replays such a history schedule nothing where it had scheduled the
            # activity below (TMPRL1100), and the workflow stuck. Catching all of them
            # gives the same commands live and on replay; no patch, since no history
            # that ever replayed takes another path.
            except FailureError as e:
                self._put_back(batch)
                self._in_flight = False
                if local:
                    # The read model refuses or is slow: from now on through the
                    # activity queue, retried with backoff, until a write succeeds.
                    local_ok = False
                    continue
                workflow.logger.warning(
                    "projection of %s failed (%s); retrying in %ss",
                    self._workflow_id,
                    e.cause or e,
                    backoff.total_seconds(),
                )
                await workflow.sleep(backoff)
                backoff = min(backoff * 2, PROJECT_BACKOFF_MAX)
                continue
            self._in_flight = False
            self._written = max(self._written, version)
            backoff = PROJECT_BACKOFF
            local_ok = True
