"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, started on
127.0.0.1 on a free port, stopped afterwards (bench/chaos/pg.py, which the fault harness
also stops and starts mid-run). The server binaries refuse to run as root, so when we
are root they run as the ``postgres`` user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bench.chaos.pg import PgServer, unavailable_reason

__all__ = ["postgres_server", "unavailable_reason"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty database."""
    server = PgServer()
    try:
        server.init()
        server.start()
        yield server.url
    finally:
        server.remove()
