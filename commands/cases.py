"""Clerks' commands: open a case, record the callback, withdraw."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from commands.common import UserError, client, console, run, settings, update
from models.case import (
    CallbackInput,
    CallbackResult,
    CaseInput,
    CaseState,
    DesignateInput,
    ProceedInput,
    SetPlanInput,
    UrgeInput,
    WithdrawInput,
    case_id_for,
)
from models.common import Channel, Occupation
from models.intake import IntakeForm
from routing_rules import RulesError, RuleSet, load_ruleset
from settings import Settings
from workflows.grievance import GrievanceWorkflow


def load_rules(s: Settings) -> RuleSet:
    try:
        return load_ruleset(s.rules_dir)
    except RulesError as e:
        raise UserError(f"the routing rules are invalid: {e}") from e


def check_against_directory(form: IntakeForm, rules: RuleSet) -> None:
    """Refuse codes the deployment does not know before anything is started."""
    if form.category not in rules.categories:
        raise UserError(
            f"unknown category {form.category!r}: one of {', '.join(sorted(rules.categories))}"
        )
    if form.platform is not None and form.platform not in rules.platforms:
        raise UserError(
            f"unknown platform {form.platform!r}: one of {', '.join(sorted(rules.platforms))}"
        )
    if form.sla_plan is not None and form.sla_plan not in rules.plans:
        raise UserError(f"unknown SLA plan {form.sla_plan!r}: one of {', '.join(rules.plans)}")
    for field in ("residence", "workplace", "incident"):
        code = getattr(form, field)
        if code is not None and code not in rules.regions:
            # A place outside the deployment is allowed (external hand-off), but
            # a typo inside it is not: codes under the deployment's root must exist.
            if rules.is_internal(code):
                raise UserError(f"unknown {field} region {code!r}; see `appeals staff` regions")


async def open_case(s: Settings, form: IntakeForm, opened_by: str | None = None) -> str:
    """Start the case's workflow; the same request id always gives the same case."""
    case_id = case_id_for(form.request_id)
    c = await client(s)
    try:
        handle: WorkflowHandle[Any, Any] = await c.start_workflow(
            GrievanceWorkflow.run,
            CaseInput(case_id=case_id, intake=form, opened_by=opened_by),
            id=case_id,
            task_queue=s.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return handle.id
    except WorkflowAlreadyStartedError:
        return case_id  # a closed case with this request id: the same case, not a new one


def register(app: typer.Typer) -> None:
    register_supervision(app)
    register_dispatch(app)

    @app.command("open")
    def open_(
        name: Annotated[str | None, typer.Option("--name", help="worker's name")] = None,
        phone: Annotated[str | None, typer.Option(help="worker's phone")] = None,
        id_number: Annotated[str | None, typer.Option("--id-number")] = None,
        occupation: Annotated[Occupation | None, typer.Option()] = None,
        platform: Annotated[str | None, typer.Option()] = None,
        category: Annotated[str | None, typer.Option()] = None,
        summary: Annotated[str | None, typer.Option()] = None,
        residence: Annotated[str | None, typer.Option(help="region code")] = None,
        workplace: Annotated[str | None, typer.Option(help="region code")] = None,
        incident: Annotated[str | None, typer.Option(help="region code")] = None,
        channel: Annotated[Channel | None, typer.Option()] = None,
        urgent: Annotated[bool, typer.Option("--urgent")] = False,
        request_id: Annotated[str | None, typer.Option("--request-id")] = None,
        sla_plan: Annotated[str | None, typer.Option("--sla-plan")] = None,
        file: Annotated[Path | None, typer.Option("--file", help="intake.json")] = None,
        as_: Annotated[str | None, typer.Option("--as", help="the clerk opening it")] = None,
    ) -> None:
        """Open a case (受理); prints the case id on its own line."""
        fields: dict[str, Any] = {}
        if file is not None:
            try:
                fields = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise UserError(f"cannot read {file}: {e}") from e
            if not isinstance(fields, dict):
                raise UserError(f"{file} must hold one JSON object with the intake fields")
        given = {
            "name": name,
            "phone": phone,
            "id_number": id_number,
            "occupation": occupation,
            "platform": platform,
            "category": category,
            "summary": summary,
            "residence": residence,
            "workplace": workplace,
            "incident": incident,
            "channel": channel,
            "request_id": request_id,
            "sla_plan": sla_plan,
        }
        fields.update({k: v for k, v in given.items() if v is not None})
        if urgent:
            fields["urgent"] = True
        fields.setdefault("request_id", uuid.uuid4().hex)
        form = IntakeForm.model_validate(fields)
        s = settings()
        check_against_directory(form, load_rules(s))
        print(run(open_case(s, form, as_)))

    @app.command()
    def callback(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="clerk")],
        result: Annotated[CallbackResult, typer.Option()],
        remark: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Record the worker's callback (回访): satisfied, unsatisfied or unreachable."""
        state = run(
            _case_update(case, "callback", CallbackInput(actor=as_, result=result, remark=remark))
        )
        console.print(f"{state.case_id}: {state.status.value}")

    @app.command()
    def withdraw(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="clerk")],
        reason: Annotated[str, typer.Option()],
    ) -> None:
        """Withdraw an open case at the worker's request (撤回)."""
        state = run(_case_update(case, "withdraw", WithdrawInput(actor=as_, reason=reason)))
        console.print(f"{state.case_id}: {state.status.value}")


def register_supervision(app: typer.Typer) -> None:
    @app.command()
    def urge(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="supervisor")],
        text: Annotated[str, typer.Option()],
    ) -> None:
        """督办: recorded, e-mailed to every open task's office, raises the case's priority."""
        state = run(_case_update(case, "urge", UrgeInput(actor=as_, text=text)))
        console.print(f"{state.case_id}: priority {state.priority}")

    @app.command("set-plan")
    def set_plan(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="clerk or supervisor")],
        plan: Annotated[str, typer.Option(help="e.g. urgent")],
        reason: Annotated[str, typer.Option()],
    ) -> None:
        """Change the case's SLA plan mid-way; open tasks keep the time already spent."""
        state = run(
            _case_update(case, "set_plan", SetPlanInput(actor=as_, plan=plan, reason=reason))
        )
        console.print(f"{state.case_id}: plan {state.sla_plan}")


def register_dispatch(app: typer.Typer) -> None:
    @app.command()
    def proceed(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="supervisor")],
        reason: Annotated[str, typer.Option()],
    ) -> None:
        """Let the lead reply without the co-handlers that are late (recorded)."""
        state = run(_case_update(case, "proceed", ProceedInput(actor=as_, reason=reason)))
        console.print(f"{state.case_id}: {state.status.value}, lead may proceed")

    @app.command()
    def designate(
        case: str,
        as_: Annotated[str, typer.Option("--as", help="supervisor")],
        department: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
        region: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """派单异议审核: designate the owner; the designated task cannot be returned."""
        arg = DesignateInput(actor=as_, department=department, region=region, reason=reason)
        state = run(_case_update(case, "designate", arg))
        console.print(f"{state.case_id}: {state.status.value}")


async def _case_update(case_id: str, name: str, arg: Any) -> CaseState:
    c = await client(settings())
    return await update(c, case_id, "case", name, arg, CaseState)
