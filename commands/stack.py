"""Running things (local administration): `appeals dev` (the embedded stack, the worker
and the API in the foreground), `appeals serve` (the API and web screens only, for
production, any number of replicas), `appeals worker`, and `appeals demo`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from commands.common import UserError, console, run, settings
from devstack import StackError, api_server, check_api_port, codec_endpoint, embedded_stack
from settings import Settings

DOCS = "(docs: /api/v1/docs)"


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM, so everything stops in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _dev(s: Settings) -> None:
    from worker import run_worker

    stop = _stop_on_signals()
    try:
        if not s.embedded:
            # A named cluster: no server of ours, and no sample accounts either.
            check_api_port(s)
            async with api_server(s) as url:
                console.print(
                    f"worker connected to {s.address} (namespace {s.temporal_namespace}); "
                    "no server started."
                )
                console.print(f"API/web   {url}  {DOCS}")
                console.print("worker running; Ctrl-C stops it.")
                await run_worker(s, stop, own_process=True)
            return
        async with embedded_stack(s) as live:
            console.print(f"Temporal  {live.address}  (namespace {live.temporal_namespace})")
            console.print(f"Web UI    {live.ui_address}")
            console.print(f"SMTP sink 127.0.0.1:{live.sink_port} → {live.mail_dir}/*.eml")
            console.print(f"database  {live.db_url}")
            console.print(f"log       {live.data_dir / 'appeals.log'}  (warnings)")
            async with api_server(live) as url:
                console.print(f"API/web   {url}  {DOCS}")
                console.print(f"codec     {codec_endpoint(live)}  (admins, audited)")
                console.print(
                    "dev password for every sample account: "
                    f"{live.dev_password.get_secret_value()} (APPEALS_DEV_PASSWORD)",
                    markup=False,
                )
                console.print("worker running; Ctrl-C stops everything.")
                await run_worker(live, stop, own_process=True)
    except StackError as e:
        raise UserError(str(e)) from e
    console.print("stopped.")


async def _serve(s: Settings) -> None:
    from db.engine import make_engine, migrate

    stop = _stop_on_signals()
    try:
        make_engine(s.db_url).dispose()  # creates a SQLite file's directory
        migrate(s.db_url)
    except SQLAlchemyError as e:
        raise UserError(
            f"cannot migrate the database ({type(e).__name__}); check APPEALS_DATABASE_URL"
        ) from e
    try:
        check_api_port(s)
        async with api_server(s, log_level="info") as url:
            from worker import freeze_startup_heap

            freeze_startup_heap()  # this process serves until stopped
            console.print(f"API/web   {url}  {DOCS}")
            console.print(f"Temporal  {s.address} (namespace {s.temporal_namespace})")
            console.print("serving; Ctrl-C stops it.")
            await stop.wait()
    except StackError as e:
        raise UserError(str(e)) from e


async def _worker(s: Settings) -> None:
    from worker import run_worker

    stop = _stop_on_signals()
    console.print(
        f"worker connected to {s.address} (namespace {s.temporal_namespace}, "
        f"task queue {s.task_queue}); Ctrl-C stops it."
    )
    await run_worker(s, stop, own_process=True)


def register(app: typer.Typer) -> None:
    @app.command("codec-key")
    def codec_key(
        key_id: Annotated[str, typer.Argument(help="a name for the key, e.g. 2026-12")],
    ) -> None:
        """Print a new AES-256 key for APPEALS_CODEC_KEYS (put it first to rotate)."""
        from codec import Keyring, new_key

        entry = f"{key_id}:{new_key()}"
        Keyring.parse(entry)  # the id is checked as the setting will be
        print(entry)

    @app.command()
    def dev(
        data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
        port: Annotated[int | None, typer.Option("--port", help="Temporal gRPC port")] = None,
        http_port: Annotated[
            int | None, typer.Option("--http-port", help="API/web port (default: --port + 3)")
        ] = None,
    ) -> None:
        """Run the embedded stack in the foreground: Temporal, worker, SMTP sink, read
        model, API and web screens."""
        s = settings()
        overrides: dict[str, object] = {}
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        if port is not None:
            overrides["embedded_port"] = port
        if http_port is not None:
            overrides["http_port"] = http_port
        run(_dev(s.model_copy(update=overrides)))

    @app.command()
    def serve(
        host: Annotated[
            str | None, typer.Option("--host", help="default: APPEALS_HTTP_HOST")
        ] = None,
        port: Annotated[
            int | None, typer.Option("--port", help="default: APPEALS_HTTP_PORT")
        ] = None,
    ) -> None:
        """Serve the API and web screens (production): no worker, against the configured
        Temporal and database; migrates the database first. Run as many as you need."""
        s = settings()
        overrides: dict[str, object] = {}
        if host is not None:
            overrides["http_host"] = host
        if port is not None:
            overrides["http_port"] = port
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,  # this process's log is stderr, not the CLI's appeals.log
        )
        run(_serve(s.model_copy(update=overrides)))

    @app.command()
    def worker() -> None:
        """Run a worker (production) against the configured Temporal and database."""
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,  # this process's log is stderr, not the CLI's appeals.log
        )
        run(_worker(settings()))

    @app.command()
    def demo() -> None:
        """Open a handful of realistic cases, walk them through, print timelines and overdue."""
        from demo import run_demo

        try:
            run(run_demo(settings()))
        except StackError as e:
            raise UserError(str(e)) from e
