"""No collection while this process holds SQLite's write lock (db.gc_guard), on a real
SQLite file through make_engine, as the worker and the API use it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from db import gc_guard
from db.engine import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    with e.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    assert gc.isenabled() and gc_guard.holders() == 0
    yield e
    e.dispose()
    # Whatever a test did, collections are back on and nobody holds a deferral.
    assert gc.isenabled() and gc_guard.holders() == 0


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """The phases of every collection this process runs meanwhile."""
    seen: list[str] = []

    def note(phase: str, _info: dict[str, Any]) -> None:
        seen.append(phase)

    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)


def churn() -> list[list[int]]:
    """Allocate, and keep, far more containers than the youngest generation's threshold,
    as ORM work does (freed at once, they would not count towards a collection)."""
    return [[] for _ in range(5 * gc.get_threshold()[0])]


def test_no_collection_from_first_write_to_commit_then_the_due_one_runs(
    engine: Engine, collections: list[str]
) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert gc.isenabled(), "a read takes no lock and defers nothing"
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not gc.isenabled() and gc_guard.holders() == 1
        churn()
        assert collections == [], "a collection ran while the write lock was held"
        conn.commit()
    assert gc.isenabled()
    churn()
    assert "start" in collections, "the collection put off did not run after the commit"


def test_a_rollback_lets_go(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not gc.isenabled()
        conn.rollback()
        assert gc.isenabled()
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_a_connection_given_back_mid_write_lets_go(engine: Engine) -> None:
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not gc.isenabled()
    conn.close()  # the pool rolls the transaction back
    assert gc.isenabled()


def test_a_writer_refused_the_lock_defers_nothing(engine: Engine) -> None:
    holder = engine.connect()
    holder.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as waiter:
        waiter.exec_driver_sql("PRAGMA busy_timeout=50")
        with pytest.raises(OperationalError, match="locked"):
            waiter.execute(text("INSERT INTO t VALUES (2)"))
        assert gc_guard.holders() == 1, "the refused writer counted as holding the lock"
        waiter.rollback()
        waiter.exec_driver_sql("PRAGMA busy_timeout=30000")
    assert not gc.isenabled(), "the holder still holds the lock"
    holder.commit()
    holder.close()
    assert gc.isenabled()


def test_collections_someone_else_turned_off_stay_off(engine: Engine) -> None:
    gc.disable()
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not gc.isenabled(), "the guard turned on what it had not turned off"
    finally:
        gc.enable()


def test_an_invalidated_connection_lets_go_and_its_rollback_still_runs(engine: Engine) -> None:
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not gc.isenabled()
    conn.invalidate()  # as after "cannot operate on a closed database"
    assert gc.isenabled()
    conn.rollback()  # the listener must not raise in the middle of it
    conn.close()


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  update t SET x = 2", True),
        ("DELETE FROM t", True),
        ("CREATE INDEX i ON t (x)", True),
        ("SELECT * FROM t", False),
        ("(SELECT 1) UNION (SELECT 2)", False),
        ("PRAGMA busy_timeout=50", False),
        ("WITH q AS (SELECT 1) SELECT * FROM q", False),
    ],
)
def test_writes_are_told_by_their_first_keyword(statement: str, writes: bool) -> None:
    assert gc_guard._writes(statement) is writes
