"""Engine construction and schema migration for the read model."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from db.gc_guard import defer_collections_while_writing, took_write_lock

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
        try:
            if raw.in_transaction:  # it holds the lock, or waits as it always did
                raw.execute(f"PRAGMA busy_timeout={int(ms)}")
            else:
                _take_write_lock(conn, raw, ms)
            yield
        finally:
            # The pooled connection keeps its usual patience for whoever uses it next.
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    else:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(ms)}")
        yield


# How often a brief wait asks for SQLite's write lock again. SQLite's own busy handler
# sleeps 1, 2, 5, 10, 15, 20, 25 ms between tries: a lock held for 4 ms cost a waiter 8,
# one held for 20 ms cost 33, on the path of a request someone is waiting for.
LOCK_POLL_S = 0.0005


def _take_write_lock(conn: Any, raw: Any, ms: int) -> None:
    """Begin the transaction holding SQLite's write lock (BEGIN IMMEDIATE), asking again
    every LOCK_POLL_S for at most ``ms``; then OperationalError, as SQLite's own wait
    would raise, and nothing was written."""
    raw.execute("PRAGMA busy_timeout=0")  # each try answers at once; we do the waiting
    deadline = time.monotonic() + ms / 1000
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise OperationalError("BEGIN IMMEDIATE", None, e) from e
            time.sleep(LOCK_POLL_S)
        else:
            took_write_lock(conn)  # the statement bypassed SQLAlchemy's events
            return


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")
