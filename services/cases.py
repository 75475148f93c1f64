"""Cases: open (idempotent by request id), read in scope, reveal (audited), act."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from pydantic import ValidationError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from auth.identity import Principal
from auth.policy import Action, scope_of
from db import queries
from db.tables import CaseRow, EventRow
from models.case import CaseInput, CaseState, case_id_for
from models.intake import IntakeForm
from routing_rules import RuleSet
from routing_rules.divisions import national
from services.actions import CASE_VERBS
from services.context import Context
from services.errors import BadInput, Conflict, NotFound
from services.places import resolve_addresses
from services.scope import check_case, required_scope
from services.temporal import update
from services.text import clean, clean_name
from services.validation import one_line, parse
from services.views import case_clock, case_dict, event_dict, outbox_dict, task_dict
from workflows.grievance import GrievanceWorkflow

# The intake fields that make two requests "the same grievance" for idempotency.
_SAME = ("name", "phone", "category", "summary", "residence", "workplace", "occupation")


def check_against_directory(form: IntakeForm, rules: RuleSet) -> None:
    """Refuse codes the deployment does not know before anything is started."""
    if form.category not in rules.categories:
        raise BadInput(
            f"unknown category {form.category!r}: one of {', '.join(sorted(rules.categories))}"
        )
    if form.platform is not None and form.platform not in rules.platforms:
        raise BadInput(
            f"unknown platform {form.platform!r}: one of {', '.join(sorted(rules.platforms))}"
        )
    if form.sla_plan is not None and form.sla_plan not in rules.plans:
        raise BadInput(f"unknown SLA plan {form.sla_plan!r}: one of {', '.join(rules.plans)}")
    for field in ("residence", "workplace", "incident"):
        code = getattr(form, field)
        # A real place outside the deployment is allowed (external hand-off), and so is
        # a real street the directory does not list (served by its district); a code
        # that exists nowhere is a typo, inside the deployment or out.
        if code is not None and code not in rules.regions and code not in national():
            raise BadInput(national().unknown(code, what=f"{field} region"))


def _same_grievance(row: CaseRow, form: IntakeForm) -> bool:
    return all(getattr(row, f) == getattr(form, f) for f in _SAME)


async def open_case(ctx: Context, p: Principal, fields: dict[str, Any]) -> str:
    """Start the case's workflow; the same request id with the same grievance gives the
    same case, with a different grievance a conflict (nothing is dropped silently)."""
    required_scope(p, Action.case_open)
    fields = dict(fields)
    if not fields.get("request_id"):
        fields["request_id"] = uuid.uuid4().hex
    # An address proposes a region only once the clerk confirmed it (services/places.py).
    fields = resolve_addresses(fields, ctx.rules)
    try:
        for key in ("name", "summary", "request_id"):
            if isinstance(fields.get(key), str):
                fields[key] = (
                    clean_name(fields[key]) if key == "name" else clean(fields[key], field=key)
                )
        form = IntakeForm.model_validate(fields)
    except ValueError as e:  # pydantic's ValidationError is a ValueError too
        raise BadInput(one_line(e) if isinstance(e, ValidationError) else str(e)) from e
    check_against_directory(form, ctx.rules)
    case_id = case_id_for(form.request_id)
    with ctx.session() as session:
        existing = queries.get_case(session=session, case_id=case_id)
    if existing is not None and not _same_grievance(existing, form):
        raise Conflict(
            f"request id {form.request_id!r} was already used for case {case_id} with a "
            "different grievance; use a new request id"
        )
    c = await ctx.client()
    try:
        await c.start_workflow(
            GrievanceWorkflow.run,
            CaseInput(case_id=case_id, intake=form, opened_by=p.staff_id),
            id=case_id,
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # a closed case with this request id: the same case, not a new one
    await _until_projected(ctx, case_id)
    return case_id


async def _until_projected(ctx: Context, case_id: str, timeout: float = 10.0) -> None:
    """Read-your-writes for the clerk: the case's first projection (intake and routing)
    is written by the workflow's first activities; wait for it, briefly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        with ctx.session() as session:
            if queries.get_case(session=session, case_id=case_id) is not None:
                return
        await asyncio.sleep(0.05)


def load_case(ctx: Context, case_id: str) -> tuple[CaseRow, list[Any]]:
    with ctx.session() as session:
        case = queries.get_case(session=session, case_id=case_id)
        if case is None:
            if (task := queries.get_task(session=session, task_id=case_id)) is not None:
                raise NotFound(f"{case_id} is a task, not a case: its case is {task.case_id}")
            raise NotFound(f"unknown case {case_id!r}")
        tasks = queries.case_tasks(session=session, case_id=case_id)
        session.expunge_all()
    return case, tasks


def show_case(ctx: Context, p: Principal, case_id: str) -> dict[str, Any]:
    """A case as the person may see it: personal data masked, every task and the timeline."""
    case, tasks = load_case(ctx, case_id)
    check_case(p, Action.case_read, case, tasks)
    return _case_view(ctx, p, case, tasks, reveal=False)


def reveal_case(ctx: Context, p: Principal, case_id: str, reason: str) -> dict[str, Any]:
    """The worker's personal data, for those who must call them; audited with who and why."""
    case, tasks = load_case(ctx, case_id)
    check_case(p, Action.case_reveal, case, tasks)
    reason = " ".join(reason.split())
    if len(reason) < 2 or len(reason) > 500:
        raise BadInput("reason: say why you need the worker's details (2 to 500 characters)")
    now = ctx.now()
    with ctx.session() as session:
        session.add(
            EventRow(
                key=f"reveal:{uuid.uuid4().hex}",
                case_id=case_id,
                at=now,
                actor=p.staff_id,
                action="revealed",
                detail=reason,
                data=json.dumps({"role": p.role.value, "office": p.office}),
            )
        )
        session.commit()
    return _case_view(ctx, p, case, tasks, reveal=True)


def _case_view(
    ctx: Context, p: Principal, case: CaseRow, tasks: list[Any], *, reveal: bool
) -> dict[str, Any]:
    s, now = ctx.settings, ctx.now()
    with ctx.session() as session:
        deadlines = queries.task_deadlines(session=session, task_ids=[t.task_id for t in tasks])
        events = queries.case_events(session=session, case_id=case.case_id)
        mail = queries.outbox_for_case(session=session, case_id=case.case_id)
        data = case_dict(case, s, reveal=reveal)
        data["tasks"] = [task_dict(t, deadlines[t.task_id], s, now) for t in tasks]
        data["timeline"] = [event_dict(e, s) for e in events]
        data["case_clock"] = case_clock(case, s, now)
        # Recipients, subjects and SMTP errors are for those who may read mail.
        may_read_mail = scope_of(Action.mail_read, p.role) is not None
        data["mail"] = [outbox_dict(m, s) for m in mail] if may_read_mail else []
    data["category_label"] = _label(ctx, case.category)
    return data


def _label(ctx: Context, category: str) -> str:
    found = ctx.rules.categories.get(category)
    return found.label if found else category


async def act_on_case(
    ctx: Context, p: Principal, case_id: str, verb: str, body: dict[str, Any]
) -> CaseState:
    found = CASE_VERBS.get(verb)
    if found is None:
        raise NotFound(f"unknown case action {verb!r}: one of {', '.join(CASE_VERBS)}")
    case, tasks = load_case(ctx, case_id)
    check_case(p, found.action, case, tasks)
    arg = found.build(parse(found.body, body), p.staff_id)
    if case.status in ("closed", "withdrawn"):
        raise Conflict(f"case {case_id} is {case.status}; nothing can change it")
    return await update(await ctx.client(), case_id, "case", found.update, arg, CaseState)
