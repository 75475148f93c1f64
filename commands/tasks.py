"""Task commands through the API: handlers accept, note, complete, return, transfer,
ask for material, extend, add co-handlers; clerks record material and external
answers; supervisors decide extensions; liaisons answer for their platform. The actor
is whoever is logged in."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from commands.api import post_action
from commands.common import Key, UserError, console
from models.tasks import Outcome


def act(
    task_id: str, verb: str, body: dict[str, Any] | None = None, key: str | None = None
) -> None:
    """One task action as the logged-in person (``post_action``); prints the task's new
    status."""
    result = post_action(f"/tasks/{quote(task_id, safe='')}/{verb}", body, key)
    console.print(f"{result['task_id']}: {result['status']}")


Clock = Annotated[str, typer.Option("--clock", help="which clock: reply, statutory, ...")]
Text = Annotated[str, typer.Option()]


def register(app: typer.Typer) -> None:
    @app.command()
    def accept(task: str, key: Key = None) -> None:
        """Sign for a task (签收)."""
        act(task, "accept", key=key)

    @app.command()
    def note(task: str, text: Text, key: Key = None) -> None:
        """Add a handling note to a task."""
        act(task, "note", {"text": text}, key=key)

    @app.command()
    def complete(
        task: str,
        outcome: Annotated[Outcome, typer.Option()],
        reply: Annotated[str, typer.Option(help="the reply to the worker")],
        key: Key = None,
    ) -> None:
        """Complete a task with its outcome and the reply to the worker (办结)."""
        act(task, "complete", {"outcome": outcome.value, "reply": reply}, key=key)

    @app.command("return")
    def return_(
        task: str,
        reason: Text,
        owner: Annotated[str, typer.Option(help="the department you believe owns it")],
        key: Key = None,
    ) -> None:
        """Return a task that is not this office's (退单), within the return window."""
        act(task, "return", {"reason": reason, "owner": owner}, key=key)

    @app.command("add-cohandler")
    def add_cohandler(
        task: str,
        department: Text,
        reason: Text,
        region: Annotated[str | None, typer.Option()] = None,
        key: Key = None,
    ) -> None:
        """The lead asks for another co-handling office (协办)."""
        act(
            task,
            "add-cohandler",
            {"department": department, "region": region, "reason": reason},
            key=key,
        )

    @app.command("external-reply")
    def external_reply(task: str, text: Text, key: Key = None) -> None:
        """Record another region's hotline's answer to an external hand-off (clerks)."""
        act(task, "external-reply", {"text": text}, key=key)

    @app.command("liaison-reply")
    def liaison_reply(task: str, text: Text, key: Key = None) -> None:
        """A platform's answer to its liaison task (政企协同)."""
        act(task, "liaison-reply", {"text": text}, key=key)

    @app.command()
    def transfer(
        task: str,
        to: Annotated[str, typer.Option("--to", help="DEPT or DEPT@REGION")],
        reason: Text,
        key: Key = None,
    ) -> None:
        """Transfer a task to another department and/or region (转办)."""
        if not to.partition("@")[0]:
            raise UserError("--to must be DEPT or DEPT@REGION, e.g. samr@440106")
        act(task, "transfer", {"to": to, "reason": reason}, key=key)

    @app.command("request-info")
    def request_info(task: str, question: Text, key: Key = None) -> None:
        """Ask the worker for material; pauses the task's pausable clocks (补充材料)."""
        act(task, "request-info", {"question": question}, key=key)

    @app.command("provide-info")
    def provide_info(task: str, text: Text, key: Key = None) -> None:
        """Record the worker's material (clerks); the paused clocks resume."""
        act(task, "provide-info", {"text": text}, key=key)

    @app.command()
    def extend(
        task: str,
        period: Annotated[str, typer.Option(help="e.g. 5wd")],
        reason: Text,
        clock: Clock = "reply",
        key: Key = None,
    ) -> None:
        """Ask a supervisor for more time on a clock (延期申请)."""
        act(task, "extend", {"period": period, "reason": reason, "clock": clock}, key=key)

    @app.command("approve-extension")
    def approve_extension(
        task: str,
        clock: Clock = "reply",
        reason: Annotated[str | None, typer.Option()] = None,
        key: Key = None,
    ) -> None:
        """Approve the pending extension; the clock moves and the change is recorded."""
        act(task, "approve-extension", {"clock": clock, "reason": reason}, key=key)

    @app.command("deny-extension")
    def deny_extension(task: str, reason: Text, clock: Clock = "reply", key: Key = None) -> None:
        """Deny the pending extension, with a reason."""
        act(task, "deny-extension", {"clock": clock, "reason": reason}, key=key)
