"""`appeals rules check|explain`: the routing rules without opening a case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from commands.api import api
from commands.common import UserError, console, print_json, region_code, settings
from models.common import Occupation
from models.routing import RoutingFacts
from routing_rules import RulesError, check_directory, decision_to_dict, load_ruleset
from routing_rules.national_check import unknown_place

app = typer.Typer(help="Validate and explain the routing rules.", no_args_is_help=True)
Dir = Annotated[Path | None, typer.Option("--dir", help="rules directory (default: settings)")]


@app.command()
def check(
    dir: Dir = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Validate the directory, rules and working-day calendar (calendar.yaml); exits
    non-zero listing every problem."""
    directory = dir or settings().rules_dir
    if not directory.is_dir():
        raise UserError(f"{directory} is not a directory")
    problems = check_directory(directory)
    rules = None if problems else load_ruleset(directory)
    if as_json:
        print_json(
            {
                "directory": str(directory),
                "ok": not problems,
                "problems": problems,
                "rules": len(rules.rules) if rules else None,
                "offices": len(rules.offices) if rules else None,
                "staff": len(rules.staff) if rules else None,
                "rules_version": rules.version if rules else None,
            }
        )
    else:
        for p in problems:
            console.print(f"[red]✗[/] {p}", markup=True, highlight=False)
    if problems or rules is None:
        raise UserError(f"{len(problems)} problem(s) in {directory}")
    if not as_json:
        console.print(
            f"[green]✓[/] {directory}: {len(rules.rules)} rules, {len(rules.offices)} "
            f"offices, {len(rules.staff)} staff, rules version {rules.version}; calendar ok"
        )


@app.command()
def explain(
    category: Annotated[str, typer.Option()],
    occupation: Annotated[Occupation, typer.Option()],
    residence: Annotated[str, typer.Option(help="region code", callback=region_code)],
    workplace: Annotated[str, typer.Option(help="region code", callback=region_code)],
    incident: Annotated[str | None, typer.Option(help="region code", callback=region_code)] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    summary: Annotated[str, typer.Option()] = "",
    sla_plan: Annotated[str | None, typer.Option("--sla-plan")] = None,
    dir: Dir = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the routing decision for these facts without opening a case.

    Asks the API (the rules the servers use now); with --dir, routes locally from that
    rules directory instead, to try edited rules before `appeals rules reload`.
    """
    facts: dict[str, Any] = {
        "category": category,
        "occupation": occupation.value,
        "platform": platform,
        "summary": summary,
        "residence": residence,
        "workplace": workplace,
        "incident": incident,
    }
    data = (
        _explain_locally(dir, facts, sla_plan)
        if dir is not None
        else api().get("/rules/explain", sla_plan=sla_plan, **facts)
    )
    if as_json:
        print_json(data)
        return
    table = Table(
        title=f"rule {data['rule']} · plan {data['sla_plan']} · rules {data['rules_version']}"
    )
    for col in ("role", "department", "region", "office", "basis", "note"):
        table.add_column(col)
    for a in [data["lead"], *data["co"]]:
        note = ("external; " if a.get("external") else "") + (a.get("fallback_reason") or "")
        table.add_row(
            a.get("role", ""),
            a["department"],
            a["region"],
            a.get("office_name") or a.get("office") or "",
            f"{a.get('basis', '')} {a.get('basis_region') or ''}".strip(),
            note,
        )
    console.print(table)
    for line in data.get("explanation", []):
        console.print(f"· {line}", markup=False)


def _explain_locally(directory: Path, facts: dict[str, Any], sla_plan: str | None) -> Any:
    try:
        rules = load_ruleset(directory)
    except RulesError as e:
        raise UserError(f"the routing rules are invalid: {e}") from e
    for field in ("residence", "workplace", "incident"):
        if facts[field] and (refusal := unknown_place(facts[field], rules, what=field)):
            raise UserError(refusal)
    try:
        decision = rules.route(RoutingFacts(**facts), sla_plan_override=sla_plan)
    except ValueError as e:
        raise UserError(str(e)) from e
    return decision_to_dict(decision, rules)


@app.command()
def reload(dir: Dir = None) -> None:
    """Check edited rules; workers take a valid new version at their next routing.

    Decisions already made keep the version they were made with (it is recorded with
    each decision); new cases and re-routed ones use the new version.
    """
    directory = dir or settings().rules_dir
    problems = check_directory(directory)
    if problems:
        for p in problems:
            console.print(f"[red]✗[/] {p}", highlight=False)
        raise UserError(f"{len(problems)} problem(s): workers keep the previous valid version")
    rules = load_ruleset(directory)
    console.print(
        f"[green]✓[/] rules version {rules.version} from {directory}: workers use it "
        "for new and re-routed cases from their next routing; decided cases keep "
        "their version"
    )
