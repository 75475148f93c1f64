"""A request's brief write (db.engine.brief_lock_wait) on a real SQLite file: it takes
the write lock as soon as another writer lets go, not at SQLite's next backoff step;
gives up after its budget with nothing written; and defers collections while it holds
the lock, as every other write does (db.gc_guard)."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from db import gc_guard
from db.engine import SQLITE_BUSY_MS, brief_lock_wait, make_engine


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "rm.db"


@pytest.fixture
def engine(path: Path) -> Iterator[Engine]:
    e = make_engine(f"sqlite:///{path}")
    with e.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield e
    e.dispose()
    assert gc.isenabled() and gc_guard.holders() == 0


@pytest.fixture
def holder(path: Path, engine: Engine) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as the worker is: a connection of its own that holds
    the write lock until the test lets go."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (0)")
    yield other
    if other.in_transaction:
        other.rollback()
    other.close()


def rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT x FROM t ORDER BY x")).scalars())


def busy_timeout(session: Session) -> int:
    return int(session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_free_lock_is_taken_and_collections_wait_for_the_commit(engine: Engine) -> None:
    with Session(engine) as session:
        with brief_lock_wait(session):
            assert not gc.isenabled(), "the lock is held from BEGIN IMMEDIATE on"
            session.execute(text("INSERT INTO t VALUES (1)"))
            session.flush()
        session.commit()
        assert gc.isenabled()
        assert busy_timeout(session) == SQLITE_BUSY_MS, "the usual patience came back"
    assert rows(engine) == [1]


def test_a_held_lock_is_taken_once_its_holder_lets_go(
    engine: Engine, holder: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = threading.Event()
    pause = time.sleep

    def between_tries(seconds: float) -> None:
        refused.set()  # the writer has found the lock held at least once
        pause(seconds)

    monkeypatch.setattr(time, "sleep", between_tries)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with Session(engine) as session:
                with brief_lock_wait(session, ms=60_000):
                    session.execute(text("INSERT INTO t VALUES (1)"))
                    session.flush()
                session.commit()
        except BaseException as e:  # reported by the test's own thread below
            failures.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    assert refused.wait(30), "the writer never found the lock held"
    holder.commit()
    writer.join(30)
    assert not writer.is_alive() and failures == []
    assert rows(engine) == [0, 1]


def test_a_lock_held_past_the_budget_fails_with_nothing_written(
    engine: Engine, holder: sqlite3.Connection
) -> None:
    with Session(engine) as session:
        with pytest.raises(OperationalError, match="database is locked"):
            with brief_lock_wait(session, ms=20):
                session.execute(text("INSERT INTO t VALUES (1)"))
        assert gc.isenabled(), "a writer refused the lock defers nothing"
        session.rollback()
        assert busy_timeout(session) == SQLITE_BUSY_MS
    holder.rollback()
    assert rows(engine) == []


def test_a_session_already_writing_keeps_its_transaction(engine: Engine) -> None:
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        with brief_lock_wait(session):
            session.execute(text("INSERT INTO t VALUES (2)"))
            session.flush()
        session.commit()
    assert rows(engine) == [1, 2]
