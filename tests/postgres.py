"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, started on
127.0.0.1 on a free port, stopped afterwards. The server binaries refuse to run as
root, so when we are root they run as the ``postgres`` user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.smtp import free_port


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15", "14"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    if not (_binary("initdb") and _binary("pg_ctl")):
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server"
    return None


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty database."""
    root = Path(tempfile.mkdtemp(prefix="appeals-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_owner(
            [
                _binary("initdb") or "initdb",
                "-D",
                str(data),
                "-U",
                "appeals",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        **run,
    )  # type: ignore[call-overload]
    pg_ctl = _binary("pg_ctl") or "pg_ctl"
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off"
    subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]),
        **run,
    )  # type: ignore[call-overload]
    try:
        yield f"postgresql+psycopg://appeals@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
