"""The Temporal Schedules of the scheduled digests, created or updated when a worker
starts (idempotent: every worker of a deployment may run this at once) and listed,
paused, unpaused and triggered by `appeals schedules …`.

- ``appeals-digest``: every day at 09:00 in the deployment's zone; the run itself asks
  the calendar whether it is a working day (make-up Saturdays included, holidays left
  out), so the calendar's yearly updates need no change here.
- ``appeals-weekly-report``: Mondays at 09:30, the previous week's figures.
- ``appeals-purge``: every day at 03:00, personal data of cases closed longer ago than
  ``APPEALS_RETENTION_DAYS`` is purged from the read model (workflows/purge.py); a run
  is idempotent, so a caught-up or doubled run purges nothing twice.

A run missed while the server could not start it (down at 09:00) is started when it
comes back, within CATCHUP_WINDOW, once; a run whose predecessor still runs waits for
it (BUFFER_ONE) rather than being dropped. A run started while no worker polls waits
on the task queue until one does. Doubles cannot happen whatever the schedule does:
each mail's outbox key is the office and the day (workflows/digest.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from models.digest import DigestInput
from models.purge import PurgeInput
from settings import Settings
from workflows.digest import DigestWorkflow, WeeklyReportWorkflow
from workflows.purge import PurgeWorkflow

DIGEST = "appeals-digest"
WEEKLY = "appeals-weekly-report"
PURGE = "appeals-purge"
SCHEDULES = (DIGEST, WEEKLY, PURGE)
# Long enough to catch up a morning's outage, short enough that yesterday's digest is
# never sent tomorrow.
CATCHUP_WINDOW = timedelta(hours=8)


@dataclass(frozen=True)
class Plan:
    id: str
    schedule: Schedule
    what: str


def at(hour: int, minute: int, *, monday_only: bool = False) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(
        second=(ScheduleRange(0),),
        minute=(ScheduleRange(minute),),
        hour=(ScheduleRange(hour),),
        day_of_week=(ScheduleRange(1),) if monday_only else (ScheduleRange(0, 6),),
    )


def plans(settings: Settings, *, digest_at: ScheduleCalendarSpec | None = None) -> list[Plan]:
    """The deployment's schedules. ``digest_at`` replaces 09:00 (tests, drills)."""
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE, catchup_window=CATCHUP_WINDOW)
    zone = settings.tz.key

    def schedule(
        workflow: object, wid: str, spec: ScheduleCalendarSpec, arg: object = None
    ) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                workflow,  # type: ignore[arg-type]
                arg if arg is not None else DigestInput(),
                id=wid,
                task_queue=settings.task_queue,
            ),
            spec=ScheduleSpec(calendars=[spec], time_zone_name=zone),
            policy=policy,
        )

    return [
        Plan(
            DIGEST,
            schedule(DigestWorkflow.run, DIGEST, digest_at or at(9, 0)),
            "working-day 09:00 digest to each office with open tasks",
        ),
        Plan(
            WEEKLY,
            schedule(WeeklyReportWorkflow.run, WEEKLY, at(9, 30, monday_only=True)),
            "Monday 09:30 weekly rates and chart to each supervisor",
        ),
        Plan(
            PURGE,
            # At night, when nobody is working the cases it reads past.
            schedule(PurgeWorkflow.run, PURGE, at(3, 0), PurgeInput()),
            "daily 03:00 purge of personal data past the retention period",
        ),
    ]


async def ensure_schedules(
    client: Client, settings: Settings, *, digest_at: ScheduleCalendarSpec | None = None
) -> list[str]:
    """Create each schedule, or bring an existing one up to date, keeping its state: a
    schedule an administrator paused stays paused across worker restarts."""
    done = []
    for plan in plans(settings, digest_at=digest_at):
        try:
            await client.create_schedule(plan.id, plan.schedule)
            done.append(f"{plan.id} created")
        except ScheduleAlreadyRunningError:

            def keep_state(
                inp: ScheduleUpdateInput, new: Schedule = plan.schedule
            ) -> ScheduleUpdate:
                new.state = inp.description.schedule.state
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(plan.id).update(keep_state)
            done.append(f"{plan.id} updated")
    return done
