"""A throwaway PostgreSQL server: initdb in a temporary directory, served on 127.0.0.1
on a free port, and stopped and started again on the same port and data (the fault
harness's "database unavailable"). The server binaries refuse to run as root, so when
we are root they run as the ``postgres`` user. tests/postgres.py uses it too."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.chaos.parts import free_port


def binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15", "14"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    if not (binary("initdb") and binary("pg_ctl")):
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server"
    return None


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgServer:
    """``init()`` once, then ``start()``/``stop()`` as often as wanted, ``remove()`` at
    the end; ``url`` is a SQLAlchemy URL of its (empty at first) database."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="appeals-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.port = free_port()
        self.url = f"postgresql+psycopg://appeals@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.sock.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(self.sock, pw.pw_uid, pw.pw_gid)
        initdb = binary("initdb") or "initdb"
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-U",
                "appeals",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off"
        log = str(self.root / "log")
        self._run([self._pg_ctl, "-D", str(self.data), "-o", options, "-w", "-l", log, "start"])

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the server goes away."""
        subprocess.run(
            _as_owner([self._pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def _pg_ctl(self) -> str:
        return binary("pg_ctl") or "pg_ctl"

    @staticmethod
    def _run(cmd: list[str]) -> None:
        subprocess.run(_as_owner(cmd), check=True, capture_output=True, timeout=120)
