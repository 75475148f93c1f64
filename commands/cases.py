"""Case commands through the API: open, callback, withdraw (clerks); urge, set-plan,
proceed, designate (supervisors). The actor is whoever is logged in.

``load_rules`` reads the rules for the local administration commands."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from commands.api import ApiError, api, post_action
from commands.common import Key, UsageError, UserError, console, err_console, region_code
from models.case import CallbackResult
from models.common import Channel, Occupation
from routing_rules import RulesError, RuleSet, load_ruleset
from settings import Settings


def load_rules(s: Settings) -> RuleSet:
    try:
        return load_ruleset(s.rules_dir)
    except RulesError as e:
        raise UserError(f"the routing rules are invalid: {e}") from e


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
        residence: Annotated[
            str | None, typer.Option(help="region code (GB/T 2260)", callback=region_code)
        ] = None,
        workplace: Annotated[
            str | None, typer.Option(help="region code (GB/T 2260)", callback=region_code)
        ] = None,
        incident: Annotated[
            str | None, typer.Option(help="region code (GB/T 2260)", callback=region_code)
        ] = None,
        address: Annotated[
            str | None,
            typer.Option(help="the workplace address as the worker says it (proposes --workplace)"),
        ] = None,
        incident_address: Annotated[
            str | None,
            typer.Option("--incident-address", help="the incident address (proposes --incident)"),
        ] = None,
        yes: Annotated[
            bool, typer.Option("--yes", help="take the one region an address proposes")
        ] = False,
        channel: Annotated[Channel | None, typer.Option()] = None,
        urgent: Annotated[bool, typer.Option("--urgent")] = False,
        request_id: Annotated[str | None, typer.Option("--request-id")] = None,
        sla_plan: Annotated[str | None, typer.Option("--sla-plan")] = None,
        file: Annotated[Path | None, typer.Option("--file", help="intake.json")] = None,
        repeat_of: Annotated[
            str | None,
            typer.Option(
                "--repeat-of",
                help="the call repeats this case: merged into it if open, linked if closed",
            ),
        ] = None,
        not_repeat: Annotated[
            bool, typer.Option("--not-repeat", help="a separate matter despite a match")
        ] = False,
    ) -> None:
        """Open a case (受理) as the logged-in clerk; prints the case id on its own line.

        When the same worker already has a case of this category with this platform or
        place (open, or closed within the repeat window), the matches are printed and
        a choice is required: --repeat-of CASE or --not-repeat."""
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
            "occupation": occupation.value if occupation else None,
            "platform": platform,
            "category": category,
            "summary": summary,
            "residence": residence,
            "workplace": workplace,
            "incident": incident,
            "workplace_address": address,
            "incident_address": incident_address,
            "channel": channel.value if channel else None,
            "request_id": request_id,
            "sla_plan": sla_plan,
        }
        fields.update({k: v for k, v in given.items() if v is not None})
        if urgent:
            fields["urgent"] = True
        # Made here, not by the server: a retried `open` with the same file or flags
        # and --request-id gives the same case, never a second one.
        fields.setdefault("request_id", uuid.uuid4().hex)
        if repeat_of is None and not not_repeat:
            matches = api().post("/cases/repeats", fields)["matches"]
            if matches:
                raise UserError(
                    f"this call repeats {'; '.join(m['line'] for m in matches)}. Choose "
                    "--repeat-of CASE (merged into an open case, linked to a closed one) "
                    "or --not-repeat"
                )
        fields["repeat_of"] = repeat_of
        fields["not_repeat"] = not_repeat or None
        opened = _open_confirming(fields, yes=yes)
        if opened.get("merged"):
            err_console.print(
                f"merged into open case {opened['case_id']} as a repeat call (no new case)",
                markup=False,
            )
        elif opened.get("repeat_of"):
            err_console.print(f"linked as a repeat of {opened['repeat_of']}", markup=False)
        print(opened["case_id"])

    @app.command()
    def callback(
        case: str,
        result: Annotated[CallbackResult, typer.Option()],
        remark: Annotated[str | None, typer.Option()] = None,
        key: Key = None,
    ) -> None:
        """Record the worker's callback (回访): satisfied, unsatisfied or unreachable."""
        state = _act(case, "callback", {"result": result.value, "remark": remark}, key)
        console.print(f"{state['case_id']}: {state['status']}")

    @app.command()
    def withdraw(case: str, reason: Annotated[str, typer.Option()], key: Key = None) -> None:
        """Withdraw an open case at the worker's request (撤回)."""
        state = _act(case, "withdraw", {"reason": reason}, key)
        console.print(f"{state['case_id']}: {state['status']}")


def _open_confirming(fields: dict[str, Any], *, yes: bool) -> dict[str, Any]:
    """Open the case; an address's single proposal is taken once the clerk says yes
    (``--yes``, or the prompt at a terminal); a choice among places is refused (exit 2)
    with the candidates in one line: give the code instead."""
    client = api()
    while True:
        try:
            opened: dict[str, Any] = client.post("/cases", fields | {"confirm_address": yes})
            return opened
        except ApiError as e:
            candidates = e.body.get("candidates")
            if e.status != 422 or not isinstance(candidates, list):
                raise
            single = len(candidates) == 1 and e.body.get("reason") is None
            if yes or not single or not sys.stdin.isatty():
                raise UsageError(str(e)) from e
            place = candidates[0]
            if not typer.confirm(f"{e.body['field']}: {place['code']} {place['full_name']}?"):
                raise UsageError(f"{e.body['field']}: not confirmed; give its code") from e
            fields = fields | {str(e.body["field"]): place["code"]}


def register_supervision(app: typer.Typer) -> None:
    @app.command()
    def urge(case: str, text: Annotated[str, typer.Option()], key: Key = None) -> None:
        """督办: recorded, e-mailed to every open task's office, raises the case's priority."""
        state = _act(case, "urge", {"text": text}, key)
        console.print(f"{state['case_id']}: priority {state['priority']}")

    @app.command("set-plan")
    def set_plan(
        case: str,
        plan: Annotated[str, typer.Option(help="e.g. urgent")],
        reason: Annotated[str, typer.Option()],
        key: Key = None,
    ) -> None:
        """Change the case's SLA plan mid-way; open tasks keep the time already spent."""
        state = _act(case, "set-plan", {"plan": plan, "reason": reason}, key)
        console.print(f"{state['case_id']}: plan {state['sla_plan']}")


def register_dispatch(app: typer.Typer) -> None:
    @app.command()
    def proceed(case: str, reason: Annotated[str, typer.Option()], key: Key = None) -> None:
        """Let the lead reply without the co-handlers that are late (recorded)."""
        state = _act(case, "proceed", {"reason": reason}, key)
        console.print(f"{state['case_id']}: {state['status']}, lead may proceed")

    @app.command()
    def designate(
        case: str,
        department: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
        region: Annotated[str | None, typer.Option()] = None,
        key: Key = None,
    ) -> None:
        """派单异议审核: designate the owner; the designated task cannot be returned."""
        body = {"department": department, "region": region, "reason": reason}
        state = _act(case, "designate", body, key)
        console.print(f"{state['case_id']}: {state['status']}")


def _act(case_id: str, verb: str, body: dict[str, Any], key: str | None) -> dict[str, Any]:
    """A case action through the API, as the logged-in person (``post_action``)."""
    state: dict[str, Any] = post_action(f"/cases/{quote(case_id, safe='')}/{verb}", body, key)
    return state
