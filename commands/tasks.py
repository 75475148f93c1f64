"""Handlers' commands on a task: accept, note, complete, return, transfer."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import BaseModel

from commands.common import UserError, client, console, run, settings, update
from models.tasks import (
    AcceptInput,
    ActionResult,
    AddCohandlerInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ExternalReplyInput,
    LiaisonReplyInput,
    NoteInput,
    Outcome,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
    TransferInput,
)


async def act(task_id: str, name: str, arg: BaseModel) -> ActionResult:
    c = await client(settings())
    return await update(c, task_id, "task", name, arg, ActionResult)


def _done(result: ActionResult) -> None:
    console.print(f"{result.task_id}: {result.status.value}")


As = Annotated[str, typer.Option("--as", help="the acting handler's staff id")]
Clock = Annotated[str, typer.Option("--clock", help="which clock: reply, statutory, ...")]


def register(app: typer.Typer) -> None:
    @app.command()
    def accept(task: str, as_: As) -> None:
        """Sign for a task (签收)."""
        _done(run(act(task, "accept", AcceptInput(actor=as_))))

    @app.command()
    def note(task: str, as_: As, text: Annotated[str, typer.Option()]) -> None:
        """Add a handling note to a task."""
        _done(run(act(task, "note", NoteInput(actor=as_, text=text))))

    @app.command()
    def complete(
        task: str,
        as_: As,
        outcome: Annotated[Outcome, typer.Option()],
        reply: Annotated[str, typer.Option(help="the reply to the worker")],
    ) -> None:
        """Complete a task with its outcome and the reply to the worker (办结)."""
        _done(run(act(task, "complete", CompleteInput(actor=as_, outcome=outcome, reply=reply))))

    @app.command("return")
    def return_(
        task: str,
        as_: As,
        reason: Annotated[str, typer.Option()],
        owner: Annotated[str, typer.Option(help="the department you believe owns it")],
    ) -> None:
        """Return a task that is not this office's (退单), within the return window."""
        _done(run(act(task, "return", ReturnInput(actor=as_, reason=reason, owner=owner))))

    @app.command("add-cohandler")
    def add_cohandler(
        task: str,
        as_: As,
        department: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
        region: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """The lead asks for another co-handling office (协办)."""
        arg = AddCohandlerInput(actor=as_, department=department, region=region, reason=reason)
        _done(run(act(task, "add_cohandler", arg)))

    @app.command("external-reply")
    def external_reply(
        task: str,
        as_: Annotated[str, typer.Option("--as", help="the clerk recording it")],
        text: Annotated[str, typer.Option()],
    ) -> None:
        """Record another region's hotline's answer to an external hand-off."""
        _done(run(act(task, "external_reply", ExternalReplyInput(actor=as_, text=text))))

    @app.command("liaison-reply")
    def liaison_reply(
        task: str,
        as_: Annotated[str, typer.Option("--as", help="the platform's liaison")],
        text: Annotated[str, typer.Option()],
    ) -> None:
        """A platform's answer to its liaison task (政企协同)."""
        _done(run(act(task, "liaison_reply", LiaisonReplyInput(actor=as_, text=text))))

    @app.command()
    def transfer(
        task: str,
        as_: As,
        to: Annotated[str, typer.Option("--to", help="DEPT or DEPT@REGION")],
        reason: Annotated[str, typer.Option()],
    ) -> None:
        """Transfer a task to another department and/or region (转办)."""
        department, _, region = to.partition("@")
        if not department:
            raise UserError("--to must be DEPT or DEPT@REGION, e.g. samr@440106")
        arg = TransferInput(actor=as_, department=department, region=region or None, reason=reason)
        _done(run(act(task, "transfer", arg)))

    @app.command("request-info")
    def request_info(task: str, as_: As, question: Annotated[str, typer.Option()]) -> None:
        """Ask the worker for material; pauses the task's pausable clocks (补充材料)."""
        _done(run(act(task, "request_info", RequestInfoInput(actor=as_, question=question))))

    @app.command("provide-info")
    def provide_info(
        task: str,
        as_: Annotated[str, typer.Option("--as", help="the clerk recording it")],
        text: Annotated[str, typer.Option()],
    ) -> None:
        """Record the worker's material (by a clerk); the paused clocks resume."""
        _done(run(act(task, "provide_info", ProvideInfoInput(actor=as_, text=text))))

    @app.command()
    def extend(
        task: str,
        as_: As,
        period: Annotated[str, typer.Option(help="e.g. 5wd")],
        reason: Annotated[str, typer.Option()],
        clock: Clock = "reply",
    ) -> None:
        """Ask a supervisor for more time on a clock (延期申请)."""
        arg = ExtendInput(actor=as_, period=period, reason=reason, clock=clock)
        _done(run(act(task, "extend", arg)))

    @app.command("approve-extension")
    def approve_extension(
        task: str,
        as_: Annotated[str, typer.Option("--as", help="the supervisor")],
        clock: Clock = "reply",
        reason: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Approve the pending extension; the clock moves and the change is recorded."""
        arg = DecideExtensionInput(actor=as_, clock=clock, reason=reason)
        _done(run(act(task, "approve_extension", arg)))

    @app.command("deny-extension")
    def deny_extension(
        task: str,
        as_: Annotated[str, typer.Option("--as", help="the supervisor")],
        reason: Annotated[str, typer.Option()],
        clock: Clock = "reply",
    ) -> None:
        """Deny the pending extension, with a reason."""
        arg = DecideExtensionInput(actor=as_, clock=clock, reason=reason)
        _done(run(act(task, "deny_extension", arg)))
