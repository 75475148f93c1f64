"""No garbage collection while this process holds SQLite's write lock.

SQLite has one write lock for the whole file, and the worker's activity threads and the
API's requests all write through it (the API writes an action's projection from its
answer, waiting at most ``engine.BRIEF_LOCK_WAIT_MS`` before it falls back to waiting for
the worker). A full collection stops every thread of its process for as long as it runs:
up to a few hundred milliseconds in a worker holding many cached workflows (bench/README,
"Full collections"). Collections are set off by allocation, and the ORM work between a
transaction's first write and its commit allocates plenty, so a collection often begins
while its process holds the lock; every writer in every other process then waits for it.

So from a connection's first write statement, or the ``BEGIN IMMEDIATE`` of a brief
write (engine.brief_lock_wait), once it succeeded (SQLite granted the lock), to its
commit or rollback, this process defers its collections: ``gc.disable()``
while any of its connections holds the lock, ``gc.enable()`` when the last lets go.
Nothing is skipped: the collection that was due runs at the first allocation after.

What it does not promise:

* The deferral lasts as long as the write transaction. The request and projection
  writes take milliseconds; a long one (a purge over many cases, a bulk seed) defers
  collections for its whole length, which only delays them.
* Collections come back just before the driver's commit runs (SQLAlchemy's ``commit``
  event precedes it), a few allocations early.
* A write is told by its first keyword (INSERT, UPDATE, DELETE, REPLACE, and DDL). A
  first write that takes the lock and then fails (a constraint) defers nothing: its
  transaction is rolled back straight after.

PostgreSQL locks rows, not the database, and is left alone.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry

_HELD = "appeals.gc_deferred"  # in the pooled connection's info: it holds a deferral

# The first keywords of statements that take SQLite's write lock (a CTE's write starts
# with WITH and is not counted: none is written here).
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})

_guarded: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines with the listeners below
_mutex = threading.Lock()
_holders = 0
_disabled_by_us = False


def holders() -> int:
    """Connections of this process now holding SQLite's write lock (for tests)."""
    return _holders


def _hold() -> None:
    global _holders, _disabled_by_us
    with _mutex:
        if _holders == 0 and gc.isenabled():
            gc.disable()
            _disabled_by_us = True
        _holders += 1


def _release() -> None:
    global _holders, _disabled_by_us
    with _mutex:
        _holders -= 1
        # Someone else's gc.disable() is theirs to undo.
        if _holders == 0 and _disabled_by_us:
            _disabled_by_us = False
            gc.enable()


def _let_go(info: dict[Any, Any]) -> None:
    if info.pop(_HELD, False):
        _release()


def _writes(statement: str) -> bool:
    words = statement.lstrip(" \t\n(").split(None, 1)
    return bool(words) and words[0].upper() in _WRITES


def took_write_lock(conn: Connection) -> None:
    """Defer collections for ``conn``, which took the write lock with a statement sent
    to the driver directly (engine.brief_lock_wait's BEGIN IMMEDIATE), unseen here.
    Only on an engine with the deferral installed: no other lets go of it."""
    if conn.engine in _guarded and not conn.info.get(_HELD):
        conn.info[_HELD] = True
        _hold()


def defer_collections_while_writing(engine: Engine) -> None:
    """Install the deferral on a SQLite engine (make_engine does)."""
    _guarded.add(engine)

    @event.listens_for(engine, "after_cursor_execute")
    def _wrote(
        conn: Connection,
        _cursor: Any,
        statement: str,
        _params: Any,
        _context: Any,
        _many: bool,
    ) -> None:
        # After the statement succeeded: SQLite has granted the lock. A write that
        # failed waiting for it holds nothing and defers nothing.
        if conn.info.get(_HELD) or not _writes(statement):
            return
        conn.info[_HELD] = True
        _hold()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: Connection) -> None:
        # An invalidated connection has no info to read (reading it would raise in the
        # middle of the rollback); the pool's invalidate event let go of it already.
        if not conn.invalidated:
            _let_go(conn.info)

    # A connection given back, reset, or dropped with its transaction open lets go too.
    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi: Any, entry: ConnectionPoolEntry, _state: Any) -> None:
        _let_go(entry.info)

    @event.listens_for(engine.pool, "invalidate")
    @event.listens_for(engine.pool, "close")
    def _dropped(_dbapi: Any, entry: ConnectionPoolEntry, *_: Any) -> None:
        _let_go(entry.info)
