"""`appeals dev` (the embedded stack in the foreground) and `appeals demo`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from commands.common import UserError, console, run, settings
from devstack import StackError, embedded_stack
from settings import Settings


async def _dev(s: Settings) -> None:
    from worker import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not s.embedded:
        console.print(
            f"worker connected to {s.address} (namespace {s.temporal_namespace}); "
            "no server started. Ctrl-C stops it."
        )
        await run_worker(s, stop)
        return
    try:
        async with embedded_stack(s) as live:
            console.print(f"Temporal  {live.address}  (namespace {live.temporal_namespace})")
            console.print(f"Web UI    {live.ui_address}")
            console.print(f"SMTP sink 127.0.0.1:{live.sink_port} → {live.mail_dir}/*.eml")
            console.print(f"database  {live.db_url}")
            console.print("worker running; Ctrl-C stops everything.")
            await run_worker(live, stop)
    except StackError as e:
        raise UserError(str(e)) from e
    console.print("stopped.")


def register(app: typer.Typer) -> None:
    @app.command()
    def dev(
        data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
        port: Annotated[int | None, typer.Option("--port", help="Temporal gRPC port")] = None,
    ) -> None:
        """Run the embedded stack in the foreground: Temporal, worker, SMTP sink, read model."""
        s = settings()
        overrides: dict[str, object] = {}
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        if port is not None:
            overrides["embedded_port"] = port
        run(_dev(s.model_copy(update=overrides)))

    @app.command()
    def demo() -> None:
        """Open a handful of realistic cases, walk them through, print timelines and overdue."""
        from demo import run_demo

        try:
            run(run_demo(settings()))
        except StackError as e:
            raise UserError(str(e)) from e
