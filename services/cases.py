"""Cases: open (idempotent by request id), read in scope, reveal (audited), act."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from auth.identity import Principal
from auth.policy import Action, scope_of
from db import queries
from db.tables import CaseRow, ClusterMemberRow, EventRow
from models.case import CaseAck, CaseInput, CaseState, case_id_for
from models.clusters import RepeatInput
from models.intake import IntakeForm, RepeatQuery
from routing_rules import RuleSet
from routing_rules.national_check import unknown_place
from services import repeats
from services.actions import CASE_VERBS, action_update_id, answered_from_record, check_action_key
from services.context import Context
from services.errors import BadInput, Conflict, NotFound, ServiceError
from services.filters import check_target_region
from services.offloop import answered_within, off_loop
from services.places import ADDRESS_FIELDS, resolve_addresses
from services.projected import case_projected
from services.scope import check_case, required_scope
from services.temporal import query, update
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
        if code is not None and (refusal := unknown_place(code, rules, what=f"{field} region")):
            raise BadInput(refusal)


def _same_grievance(row: CaseRow, form: IntakeForm) -> bool:
    return all(getattr(row, f) == getattr(form, f) for f in _SAME)


@dataclass(frozen=True)
class Opened:
    case_id: str
    merged: bool = False  # the call was added to an open case (a repeat), not a new case
    repeat_of: str | None = None  # the recently closed case this new one repeats


async def open_case(ctx: Context, p: Principal, fields: dict[str, Any]) -> str:
    """Open a case (see ``intake``) and say which: a new one, or the open one the call
    was merged into."""
    return (await intake(ctx, p, fields)).case_id


async def intake(ctx: Context, p: Principal, fields: dict[str, Any]) -> Opened:
    """Start the case's workflow; the same request id with the same grievance gives the
    same case, with a different grievance a conflict (nothing is dropped silently).

    A call that repeats a case (services/repeats.py) needs the clerk's choice:
    ``repeat_of`` the matched case (merged into an open one, linked to a closed one)
    or ``not_repeat``; without one it is a 409 naming the matches."""
    required_scope(p, Action.case_open)
    fields = dict(fields)
    chosen = fields.pop("repeat_of", None) or None
    not_repeat = bool(fields.pop("not_repeat", False))
    if chosen is not None and not_repeat:
        raise BadInput("choose one: repeat_of a matched case, or not_repeat")
    if not fields.get("request_id"):
        fields["request_id"] = uuid.uuid4().hex
    # An address proposes a region only once the clerk confirmed it (services/places.py).
    # Recognising an address is CPU work: off the API's event loop when there is one.
    if any(fields.get(key) for key in ADDRESS_FIELDS):
        fields = await off_loop(resolve_addresses, fields, ctx.rules)
    else:
        fields = resolve_addresses(fields, ctx.rules)  # only takes the empty fields out
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
    again = f"submit it again with request id {form.request_id!r}, which opens one case only"
    async with answered_within("the intake", again):
        return await _open(ctx, p, form, chosen, not_repeat=not_repeat)


def _get_case(ctx: Context, case_id: str) -> CaseRow | None:
    with ctx.session() as session:
        return queries.get_case(session=session, case_id=case_id)


async def _open(
    ctx: Context, p: Principal, form: IntakeForm, chosen: str | None, *, not_repeat: bool
) -> Opened:
    case_id = case_id_for(form.request_id)
    existing = await off_loop(_get_case, ctx, case_id)
    if existing is not None and not _same_grievance(existing, form):
        raise Conflict(
            f"request id {form.request_id!r} was already used for case {case_id} with a "
            "different grievance; use a new request id"
        )
    repeat_of = existing.repeat_of if existing is not None else None
    if existing is None:
        matches = await off_loop(repeats.find_repeats, ctx, form, now=ctx.now(), exclude=case_id)
        if chosen is not None:
            match = next((m for m in matches if m.case_id == chosen), None)
            if match is None:
                raise BadInput(
                    f"{chosen} is not a case this call repeats (the same worker, category and "
                    f"platform or place, open or closed within "
                    f"{ctx.settings.repeat_window_days} days)"
                )
            if match.action == "merge":
                await _merge(ctx, p, match, form)
                return Opened(case_id=match.case_id, merged=True)
            repeat_of = match.case_id
        elif matches and not not_repeat:
            raise Conflict(
                "this call repeats "
                + "; ".join(m.line() for m in matches)
                + ". Choose repeat_of (the case id) or not_repeat"
            )
    phone_hash, id_hash = repeats.worker_hashes(ctx.settings, form.phone, form.id_number)
    c = await ctx.client()
    try:
        await c.start_workflow(
            GrievanceWorkflow.run,
            CaseInput(
                case_id=case_id,
                intake=form,
                opened_by=p.staff_id,
                phone_hash=phone_hash,
                id_hash=id_hash,
                repeat_of=repeat_of,
            ),
            id=case_id,
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # a closed case with this request id: the same case, not a new one
    await _until_projected(ctx, case_id)
    return Opened(case_id=case_id, repeat_of=repeat_of)


async def _merge(ctx: Context, p: Principal, match: repeats.RepeatMatch, form: IntakeForm) -> None:
    arg = RepeatInput(
        actor=p.staff_id,
        request_id=form.request_id,
        channel=form.channel,
        summary=form.summary,
        matched_on=match.matched_on,
    )
    ack = await update(await ctx.client(), match.case_id, "case", "repeat", arg, CaseAck)
    await case_projected(ctx.engine, match.case_id, ack.version)


def preview_repeats(ctx: Context, p: Principal, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The cases a call would repeat, for the clerk to see before submitting."""
    required_scope(p, Action.case_repeats)
    try:
        # An address stands for its place here if it names one (the open asks to confirm).
        fields = resolve_addresses(dict(fields) | {"confirm_address": True}, ctx.rules)
    except ServiceError:
        fields = {k: v for k, v in fields.items() if not k.endswith("_address")}
    try:
        q = RepeatQuery.model_validate(fields)
    except ValidationError as e:
        raise BadInput(one_line(e)) from e
    place = q.incident or q.workplace
    if place is None and q.platform is None:
        return []  # no counterparty to match on yet
    request_id = fields.get("request_id")
    if isinstance(request_id, str) and request_id.strip():
        with ctx.session() as session:
            mine = case_id_for(request_id.strip())
            if queries.get_case(session=session, case_id=mine) is not None:
                return []  # a retried submit: this request already opened its case
    found = repeats.find_matches(
        ctx,
        phone=q.phone,
        id_number=q.id_number,
        category=q.category,
        platform=q.platform,
        place=place or "",
        now=ctx.now(),
    )
    return [m.as_dict() | {"line": m.line()} for m in found]


async def _until_projected(ctx: Context, case_id: str, timeout: float = 10.0) -> None:
    """Read-your-writes for the clerk: the case's first projection (intake and routing)
    is written by the workflow's first activities; wait for it, briefly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await off_loop(_get_case, ctx, case_id) is not None:
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
        # Repeats and clusters: the later cases linked to this one, the clusters it is in.
        data["repeated_by"] = list(
            session.execute(
                select(col(CaseRow.case_id)).where(col(CaseRow.repeat_of) == case.case_id)
            ).scalars()
        )
        data["clusters"] = list(
            session.execute(
                select(col(ClusterMemberRow.cluster_id)).where(
                    col(ClusterMemberRow.case_id) == case.case_id
                )
            ).scalars()
        )
        # Recipients, subjects and SMTP errors are for those who may read mail.
        may_read_mail = scope_of(Action.mail_read, p.role) is not None
        data["mail"] = [outbox_dict(m, s) for m in mail] if may_read_mail else []
    data["category_label"] = _label(ctx, case.category)
    return data


def _label(ctx: Context, category: str) -> str:
    found = ctx.rules.categories.get(category)
    return found.label if found else category


async def act_on_case(
    ctx: Context,
    p: Principal,
    case_id: str,
    verb: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
) -> CaseState:
    """Act on a case as ``p``. ``key``: the caller's idempotency key (as for tasks): the
    same key again is the first attempt's action, not a second 督办."""
    found = CASE_VERBS.get(verb)
    if found is None:
        raise NotFound(f"unknown case action {verb!r}: one of {', '.join(CASE_VERBS)}")
    retry = check_action_key(key, case_id)
    async with answered_within(f"the {verb}", retry):
        case, tasks = await off_loop(load_case, ctx, case_id)
        check_case(p, found.action, case, tasks)
        arg = found.build(parse(found.body, body), p.staff_id)
        check_target_region(ctx.rules, arg)
        update_id = action_update_id(verb, p, key)
        closed = None
        if case.status in ("closed", "withdrawn"):
            closed = Conflict(f"case {case_id} is {case.status}; nothing can change it")
            if update_id is None:
                raise closed
        client = await ctx.client()
        async with answered_from_record(closed):
            ack = await update(
                client, case_id, "case", found.update, arg, CaseAck, update_id=update_id
            )
        await case_projected(ctx.engine, case_id, ack.version)  # the case's page shows it
        # The Update answers with an acknowledgement only (patches.CASE_HISTORY_SLIM: the
        # whole state went into the case's history with every action); the query reads
        # the same workflow after it, so the caller sees their own action.
        return await query(client, case_id, "case", "state", CaseState)
