"""The daily retention run (the ``appeals-purge`` Schedule, schedules.py): one activity
that purges, in the read model, the personal data of cases closed longer ago than the
retention period (activities/purge.py). The result carries case ids and counts only."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.purge import PurgeActivities
    from models.purge import PurgeInput, PurgeRequest, PurgeResult
    from workflows.policies import STORE_RETRY

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
PURGE_TIMEOUT = timedelta(minutes=10)
ACTOR = "schedule:appeals-purge"


@workflow.defn
class PurgeWorkflow:
    @workflow.run
    async def run(self, inp: PurgeInput) -> PurgeResult:
        # The run's nominal time: a run caught up late purges as of the time it was
        # for, so the cutoff in its audit row is the one the schedule meant.
        at = inp.at or workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return await workflow.execute_activity_method(
            PurgeActivities.run,
            PurgeRequest(at=at or workflow.now(), actor=ACTOR),
            start_to_close_timeout=PURGE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
