"""NotificationWorkflow: delivers one e-mail, however long the SMTP server is away.

Started by a task (abandoned on the parent's close) so that a mail server that is
down or refusing delays the e-mail but never blocks or fails the case. Its id is
the notification's id, so the same warning or rung can never be mailed twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from models.notify import Notification, SendResult
    from workflows.policies import LOCAL_ONCE, STORE_RETRY, STORE_TIMEOUT

from workflows import patches

# Back off from 5 s to 10 min between attempts; give up (and say so in the outbox)
# only after three days, by when a person must look at the mail system.
SMTP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
SMTP_ATTEMPT_TIMEOUT = timedelta(seconds=60)
QUEUED, UNRENDERABLE = "queued", "unrenderable"  # what the local attempt came to
SMTP_GIVE_UP = timedelta(days=3)


@workflow.defn
class NotificationWorkflow:
    @workflow.run
    async def run(self, n: Notification) -> SendResult | None:
        # Decided first, so the marker precedes the local activity's (compute.py).
        local = workflow.patched(patches.MAIL_QUEUED_LOCALLY)
        queued = await self._queued_locally(n) if local else None
        if queued == UNRENDERABLE:
            return None
        try:
            if queued != QUEUED:
                # A notification that cannot be rendered fails here, non-retryably,
                # with its outbox row marked failed; the case is not affected.
                await workflow.execute_activity(
                    "queue_notification",
                    n,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
        except ActivityError as e:
            workflow.logger.error("notification %s cannot be queued: %s", n.id, e.cause or e)
            return None
        try:
            result: SendResult = await workflow.execute_activity(
                "send_notification",
                n,
                result_type=SendResult,
                start_to_close_timeout=SMTP_ATTEMPT_TIMEOUT,
                schedule_to_close_timeout=SMTP_GIVE_UP,
                retry_policy=SMTP_RETRY,
            )
            return result
        except ActivityError as e:
            await workflow.execute_activity(
                "mark_notification_failed",
                args=[n.id, str(e.cause or e)],
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            return None

    @staticmethod
    async def _queued_locally(n: Notification) -> str | None:
        """One local attempt of ``queue_notification`` (patches.MAIL_QUEUED_LOCALLY):
        QUEUED, or None if the activity queue should try (slow, or a failure a retry
        may mend), or UNRENDERABLE: a notification that cannot be rendered is not
        retried (its row is marked failed), as the queue's attempt would not be."""
        try:
            await workflow.execute_local_activity("queue_notification", n, **LOCAL_ONCE)
            return QUEUED
        # Live, a local activity fails as an ActivityError around its cause; replayed
        # from its marker, a timeout comes back as the bare TimeoutError. Catching only
        # the first made a worker that replays a mail whose local attempt had timed out
        # fail the workflow where it had scheduled the queue's attempt (TMPRL1100): the
        # fault harness found 143 mails stuck so. The same commands live and on replay;
        # no patch, since no history that ever replayed takes another path.
        except FailureError as e:
            cause = e.cause if isinstance(e, ActivityError) else e
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                workflow.logger.error("notification %s cannot be queued: %s", n.id, cause)
                return UNRENDERABLE
            return None
