"""The directory and the calendar, for people: staff, the rules' decision for given
facts, a deadline on the working-day calendar."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from auth.identity import Principal
from auth.policy import Action
from models.common import StaffRole
from models.routing import RoutingFacts
from routing_rules import check_directory, decision_to_dict
from routing_rules.national_check import unknown_place
from services.context import Context
from services.errors import BadInput, Conflict
from services.filters import check_filters
from services.scope import required_scope
from services.validation import moment, one_line
from services.views import calendar_for
from sla import Period, due_at


def staff(
    ctx: Context,
    p: Principal,
    *,
    department: str | None = None,
    region: str | None = None,
    role: str | None = None,
) -> list[dict[str, Any]]:
    required_scope(p, Action.staff_read)
    rules = ctx.rules
    check_filters(rules, department=department, region=region)
    if role and role not in {r.value for r in StaffRole}:
        raise BadInput(f"unknown role {role!r}: one of {', '.join(r.value for r in StaffRole)}")
    return [
        {
            "id": m.id,
            "name": m.name,
            "role": m.role.value,
            "head": m.head,
            "department": m.department,
            "region": m.region,
            "region_name": rules.region_name(m.region),
            "office": m.office,
            "platform": m.platform,
        }
        for m in rules.staff.values()
        if (department is None or m.department == department)
        and (region is None or m.region == region)
        and (role is None or m.role.value == role)
    ]


def explain(ctx: Context, p: Principal, facts: dict[str, Any]) -> dict[str, Any]:
    required_scope(p, Action.rules_explain)
    plan = facts.pop("sla_plan", None)
    try:
        parsed = RoutingFacts.model_validate(facts)
    except ValidationError as e:
        raise BadInput(one_line(e)) from e
    check_filters(ctx.rules, category=parsed.category)
    # As at intake: a real place outside the deployment is a hand-off to explain, a code
    # that exists nowhere is a typo, refused with the nearest real names.
    for field in ("residence", "workplace", "incident"):
        code = getattr(parsed, field)
        if code and (refusal := unknown_place(code, ctx.rules, what=f"{field} region")):
            raise BadInput(refusal)
    try:
        decision = ctx.rules.route(parsed, sla_plan_override=plan)
    except ValueError as e:
        raise BadInput(str(e)) from e
    return decision_to_dict(decision, ctx.rules)


def reload_rules(ctx: Context, p: Principal) -> dict[str, Any]:
    """Check the rules directory and take it for this server's reads and checks. Workers
    take a valid new version at their next routing (decided cases keep theirs)."""
    required_scope(p, Action.rules_reload)
    problems = check_directory(ctx.settings.rules_dir)
    if problems:
        raise Conflict(f"{len(problems)} problem(s), first: {problems[0]}; nothing was reloaded")
    rules = ctx.reload_rules()
    return {"version": rules.version, "rules": len(rules.rules), "staff": len(rules.staff)}


def sla_due(ctx: Context, p: Principal, *, start: str, period: str) -> dict[str, Any]:
    required_scope(p, Action.sla_due)
    s = ctx.settings
    begin = moment(start, field="start", tz=s.tz)  # a local time means the deployment's zone
    try:
        parsed = Period.parse(period)
    except ValueError as e:
        raise BadInput(str(e)) from e
    try:
        due = due_at(begin, parsed, calendar=calendar_for(s.rules_dir), tz=s.tz)
    except (OverflowError, ValueError) as e:
        raise BadInput(f"period {period!r} from {start!r} ends outside the calendar") from e
    return {"start": begin.isoformat(), "period": period, "due_at": due.isoformat()}
