"""The scheduled digests (Temporal Schedules, see schedules.py): each working day at
09:00 every office with open tasks gets its overdue and due-today list; each week the
supervisors get their region's rates with a chart.

A run learns the time it stands for from its Schedule (TemporalScheduledStartTime), or
from its input when started by hand or by a test, so a run caught up after the worker
was down reports the day it was for. Each mail's id is the office (or supervisor) and
the day: the outbox keeps one row per id and never sends a sent row again, so a second
run for the same day (a catch-up and a manual trigger) mails nobody twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models.digest import (
        DigestInput,
        DigestPlan,
        DigestPlanRequest,
        DigestResult,
        WeeklyPlan,
        WeeklyPlanRequest,
        WeeklyResult,
    )
    from models.notify import Notification, NotificationKind, Recipient
    from workflows.notification import NotificationWorkflow
    from workflows.policies import STORE_RETRY

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
PLAN_TIMEOUT = timedelta(minutes=2)
MAIL_WAIT = timedelta(minutes=10)


def scheduled_for(inp: DigestInput) -> datetime:
    """The run's nominal time: the input's, else its Schedule's, else now."""
    if inp.scheduled_for is not None:
        return inp.scheduled_for
    at = workflow.info().typed_search_attributes.get(SCHEDULED_START)
    return at if at is not None else workflow.now()


async def hand_over(n: Notification, started: list[Any]) -> bool:
    """Start the mail's own workflow; False when this id was handed over before."""
    try:
        handle = await workflow.start_child_workflow(
            NotificationWorkflow.run,
            n,
            id=f"mail-{n.id}",
            parent_close_policy=ParentClosePolicy.ABANDON,
            # The outbox refuses a second send anyway; this says so without trying.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    started.append(handle)
    return True


async def settle(started: list[Any]) -> None:
    """Wait a while for the mails: a run normally ends once its mails are out, and the
    next run finds it done; mail the SMTP server keeps refusing goes on retrying (for
    days, in its own workflow) after the run ends."""
    if not started:
        return
    await workflow.wait(
        [asyncio.ensure_future(h) for h in started], timeout=MAIL_WAIT.total_seconds()
    )


@workflow.defn
class DigestWorkflow:
    @workflow.run
    async def run(self, inp: DigestInput) -> DigestResult:
        at = scheduled_for(inp)
        plan = await workflow.execute_activity(
            "plan_digest",
            DigestPlanRequest(at=at),
            result_type=DigestPlan,
            start_to_close_timeout=PLAN_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        result = DigestResult(day=plan.day, working_day=plan.working_day)
        started: list[Any] = []
        if not plan.working_day:
            workflow.logger.info("digest %s: a day off, no mail", plan.day)
            return result
        for office in plan.offices:
            n = Notification(
                id=f"digest:{office.office_id}:{plan.day.isoformat()}",
                kind=NotificationKind.digest,
                event="digest",
                case_id=f"DIGEST-{plan.day.isoformat()}",
                to=[Recipient(address=office.mailbox, name=office.office_name)],
                context={
                    "office_name": office.office_name,
                    "day": plan.day.isoformat(),
                    "open_count": str(office.open_tasks),
                    "overdue_count": str(len(office.overdue)),
                    "due_today_count": str(len(office.due_today)),
                    "overdue": "\n".join(office.overdue),
                    "due_today": "\n".join(office.due_today),
                },
                created_at=workflow.now(),
            )
            mailed = await hand_over(n, started)
            (result.mailed if mailed else result.already).append(office.office_id)
        await settle(started)
        return result


@workflow.defn
class WeeklyReportWorkflow:
    @workflow.run
    async def run(self, inp: DigestInput) -> WeeklyResult:
        plan = await workflow.execute_activity(
            "plan_weekly_report",
            WeeklyPlanRequest(at=scheduled_for(inp)),
            result_type=WeeklyPlan,
            start_to_close_timeout=PLAN_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        week = f"{plan.start.isoformat()} 至 {plan.end.isoformat()}"
        result = WeeklyResult(start=plan.start, end=plan.end)
        started: list[Any] = []
        for report in plan.reports:
            n = Notification(
                id=f"weekly:{report.to.address}:{plan.start.isoformat()}",
                kind=NotificationKind.report,
                event="weekly-report",
                case_id=f"REPORT-{plan.start.isoformat()}",
                to=[report.to],
                context={
                    "office_name": report.scope_label,
                    "week": week,
                    "table": report.table,
                    "regions": ",".join(report.regions or []),
                    "start": plan.start.isoformat(),
                    "end": plan.end.isoformat(),
                },
                created_at=workflow.now(),
            )
            if await hand_over(n, started):
                result.mailed.append(report.to.address)
        await settle(started)
        return result
