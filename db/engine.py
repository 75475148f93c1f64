"""Engine construction and schema migration for the read model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from db.gc_guard import defer_collections_while_writing

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_MS = 30_000  # how long a write waits for SQLite's lock


def make_engine(url: str, *, connections: int = 5) -> Engine:
    """An engine tuned for the backend: SQLite gets WAL and a busy timeout so the
    worker's writes and the CLI's reads do not block each other, and no collection while
    it holds the write lock (db.gc_guard). ``connections``: how many it keeps open (the
    pool's size): as many as the threads that write at once, since a connection beyond
    the pool is opened for one write and closed after it (a new PostgreSQL backend, or
    SQLite's pragmas, every time)."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
            pool_size=connections,
            # A failed statement's message must not carry its values (names, phones,
            # ID numbers) into logs, activity failures and Temporal's history.
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.close()

        defer_collections_while_writing(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, pool_size=connections)


BRIEF_LOCK_WAIT_MS = 200


@contextmanager
def brief_lock_wait(session: Session, ms: int = BRIEF_LOCK_WAIT_MS) -> Iterator[None]:
    """Within the block, the session's writes wait at most ``ms`` for a lock another
    holds (then fail with OperationalError) instead of SQLite's 30 s busy timeout: for
    writes a request can do without. PostgreSQL: ``lock_timeout`` for the transaction.
    Flush in the block, commit after it: a commit hands the connection back to the
    pool (which may close it) before SQLite's usual wait could be restored."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # On the driver's connection: a failed commit leaves the session's transaction
        # unusable until rolled back, and the restore below must still run.
        raw: Any = conn.connection.dbapi_connection
        raw.execute(f"PRAGMA busy_timeout={int(ms)}")
        try:
            yield
        finally:
            # The pooled connection keeps its usual patience for whoever uses it next.
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    else:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(ms)}")
        yield


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")
