"""A write activity cancelled while PostgreSQL makes it wait for a lock.

Temporal cancels a running activity (a local projection whose workflow task timed out,
an activity past its timeout) by raising CancelledError inside its thread, at whatever
line it is on. Raised inside the database driver, between a statement's answer and its
reading, it left the connection checked out and its transaction open with the row
locks it held ("idle in transaction"): every later write of those rows waited on it
until the worker was killed. Found by the PostgreSQL fault run (bench/README.md).
Every synchronous activity is now declared ``no_thread_cancel_exception``: a
cancellation is a flag it may read, never an exception at an arbitrary line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from temporalio.activity import _Definition
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from db.engine import make_engine, migrate
from models.events import ProjectionBatch
from settings import Settings
from tests.db.test_store import case
from worker import build_activities

WAIT = 30.0  # seconds; far above what any step here takes when it works


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    with make_engine(pg_url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(pg_url)
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _sessions(engine: Engine, where: str) -> int:
    """This database's server sessions matching ``where`` (pg_stat_activity)."""
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        return int(conn.execute(text(query + where)).scalar_one())


def _project_in_thread(env: ActivityEnvironment, store: StoreActivities, version: int) -> list[Any]:
    """Run the projection of case version ``version`` on its own thread, as the worker
    does; the list gets the thread and, once it ends, its outcome."""
    out: list[Any] = []

    def run() -> None:
        try:
            env.run(store.project, ProjectionBatch(case=case(version, "open")))
            out.append("done")
        except BaseException as e:  # noqa: BLE001 - the outcome is what the test reads
            out.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    out.insert(0, thread)
    return out


def test_a_projection_cancelled_while_waiting_finishes_and_leaves_nothing_open(
    pg: Engine,
) -> None:
    store = StoreActivities(pg)
    store.project(ProjectionBatch(case=case(1, "open")))
    env = ActivityEnvironment()

    blocker = pg.connect()
    tx = blocker.begin()
    blocker.execute(text("SELECT version FROM cases WHERE case_id = 'AP-TEST' FOR UPDATE"))
    cancelled = _project_in_thread(env, store, 2)
    _until(
        lambda: _sessions(pg, "wait_event_type = 'Lock'") > 0,
        "the projection never waited for the row lock",
    )
    env.cancel()  # Temporal gives up on the attempt while it waits
    tx.rollback()
    blocker.close()
    cancelled[0].join(WAIT)
    assert not cancelled[0].is_alive(), "the cancelled projection never ended"
    # The cancellation does not interrupt it: it finishes its write (a newer version
    # would still win, see not_older), and Temporal ignores the late result.
    assert cancelled[1:] == ["done"]

    # Nothing of it may stay behind: no connection out of the pool, no transaction
    # open on the server, and the next projection of the same row is not kept waiting.
    assert pg.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _sessions(pg, "state = 'idle in transaction'") == 0
    later = _project_in_thread(ActivityEnvironment(), store, 3)
    later[0].join(WAIT)
    assert later[1:] == ["done"], "the next projection of the row was kept waiting"
    with pg.connect() as conn:
        version = conn.execute(text("SELECT version FROM cases WHERE case_id = 'AP-TEST'"))
        assert version.scalar_one() == 3


def test_no_synchronous_activity_is_interrupted_by_a_cancellation(
    settings: Settings, read_model: Engine
) -> None:
    """Each synchronous activity the worker runs (the store, the outbox, routing, the
    clocks, digests, purge) finishes what it started once cancelled."""
    sync = []
    for fn in build_activities(settings, read_model):
        defn = _Definition.must_from_callable(fn)
        if not defn.is_async:
            sync.append(defn.name)
            assert defn.no_thread_cancel_exception, defn.name
    assert "project" in sync and "queue_notification" in sync
