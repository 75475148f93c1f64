"""The scheduled digests' reads: which offices get a morning digest and what it lists,
and the weekly figures for each supervisor. The working-day check is here, in an
activity, because it reads the calendar (a calendar update never changes a history)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from activities.calendar_source import CalendarSource
from activities.routing import RoutingActivities
from auth.identity import principal_for
from db.queries import OPEN_TASK
from db.tables import DeadlineRow, TaskRow
from models.digest import (
    DigestPlan,
    DigestPlanRequest,
    OfficeDigest,
    SupervisorReport,
    WeeklyPlan,
    WeeklyPlanRequest,
)
from models.notify import Recipient
from reports.figures import Dimension, Window, figures, scope_clause
from reports.formulas import percent


class DigestActivities:
    def __init__(
        self, engine: Engine, routing: RoutingActivities, calendar: CalendarSource, tz: ZoneInfo
    ) -> None:
        self._engine = engine
        self._routing = routing
        self._calendar = calendar
        self._tz = tz

    @activity.defn(name="plan_digest", no_thread_cancel_exception=True)
    def plan_digest(self, req: DigestPlanRequest) -> DigestPlan:
        """The morning digest of ``req.at``'s day: none on a day off (weekends and
        holidays, make-up workdays included as working days); else, for each office
        with open tasks, its tasks overdue at ``req.at`` and those due later that day."""
        local = req.at.astimezone(self._tz)
        day = local.date()
        if not self._calendar.get().is_workday(day):
            return DigestPlan(day=day, working_day=False)
        end = datetime.combine(day + timedelta(days=1), time(0), self._tz)
        rules = self._routing.rules()
        labels = {c.code: c.label for c in rules.categories.values()}
        with Session(self._engine) as session:
            open_tasks = session.exec(
                select(TaskRow).where(col(TaskRow.status).in_(OPEN_TASK))
            ).all()
            running = session.exec(
                select(DeadlineRow).where(
                    col(DeadlineRow.running_due_at).is_not(None),
                    col(DeadlineRow.running_due_at) < end,
                    col(DeadlineRow.task_id).in_([t.task_id for t in open_tasks]),
                )
            ).all()
        tasks = {t.task_id: t for t in open_tasks}
        by_office: dict[str, list[TaskRow]] = defaultdict(list)
        for t in open_tasks:
            by_office[t.office_id].append(t)
        overdue: dict[str, list[str]] = defaultdict(list)
        due_today: dict[str, list[str]] = defaultdict(list)
        for d in sorted(running, key=lambda d: (d.running_due_at, d.task_id)):
            t = tasks[d.task_id]
            due = d.running_due_at
            assert due is not None
            line = (
                f"{t.task_id} {labels.get(t.category, t.category)} {d.label} "
                f"截止 {due.astimezone(self._tz):%Y-%m-%d %H:%M}"
            )
            (overdue if due <= req.at else due_today)[t.office_id].append(line)
        offices = []
        for office_id, office_tasks in sorted(by_office.items()):
            office = rules.offices.get(office_id)
            if office is None and office_id.startswith("platform."):
                office = rules.liaison_office(office_id.removeprefix("platform."))
            if office is None:
                activity.logger.warning("digest: office %s is not in the directory", office_id)
                continue
            offices.append(
                OfficeDigest(
                    office_id=office_id,
                    office_name=office.name,
                    mailbox=office.mailbox,
                    open_tasks=len(office_tasks),
                    overdue=overdue[office_id],
                    due_today=due_today[office_id],
                )
            )
        return DigestPlan(day=day, working_day=True, offices=offices)

    @activity.defn(name="plan_weekly_report", no_thread_cancel_exception=True)
    def plan_weekly_report(self, req: WeeklyPlanRequest) -> WeeklyPlan:
        """The week before ``req.at``'s week (Monday to Sunday): for each supervisor with
        a mailbox, the offices of their region ranked by received tasks, with the rates."""
        today = req.at.astimezone(self._tz).date()
        start = today - timedelta(days=today.weekday() + 7)
        end = start + timedelta(days=6)
        rules = self._routing.rules()
        reports = []
        with Session(self._engine) as session:
            for member in rules.staff.values():
                if member.role.value != "supervisor" or not member.mailbox:
                    continue
                p = principal_for(rules, member.id)
                regions = sorted(p.regions) if p is not None and p.regions is not None else None
                rows = figures(
                    session=session,
                    by=Dimension.office,
                    window=Window(start, end),
                    where=scope_clause(regions=regions),
                )
                rows.sort(key=lambda r: -r.counts.get("received", 0))
                table = "\n".join(
                    f"{r.label}：收件 {r.counts.get('received', 0)}，"
                    f"签收率 {percent(r.rate('sign_rate'))}，"
                    f"按时办结率 {percent(r.rate('on_time_rate'))}，"
                    f"解决率 {percent(r.rate('resolution_rate'))}，"
                    f"满意率 {percent(r.rate('satisfaction_rate'))}"
                    for r in rows
                )
                reports.append(
                    SupervisorReport(
                        to=Recipient(address=member.mailbox, name=member.name, role="supervisor"),
                        scope_label=rules.region_name(member.region),
                        regions=regions,
                        table=table or "本周无新收工单。",
                    )
                )
        return WeeklyPlan(start=start, end=end, reports=reports)
