"""A token's last-used bookkeeping never holds a request: while another holds the
write lock (SQLite) or the token's row (PostgreSQL), every request is answered, and
the write is tried once a minute, not by each request (the full fault run's clerk polls
took 60 s while SQLite was locked: each waited 30 s for this write, then for a pooled
connection others held the same way)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from auth import accounts, identity
from db.engine import make_engine, migrate
from db.tables import TokenRow
from routing_rules import DEFAULT_RULES_DIR, load_ruleset

T0 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
CLERK = "clerk.li"


@pytest.fixture
def engine(read_model: Engine) -> Engine:
    return read_model


class WriteLock:
    """Another connection holding what the bookkeeping write needs, until released."""

    def __init__(self, engine: Engine, token_id: str) -> None:
        self.engine, self.token_id = engine, token_id

    def __enter__(self) -> None:
        if self.engine.dialect.name == "sqlite":
            path = self.engine.url.database
            assert path is not None
            self.raw = sqlite3.connect(path, isolation_level=None)
            self.raw.execute("BEGIN IMMEDIATE")  # the database's one write lock
        else:
            self.conn = self.engine.connect()
            self.conn.begin()
            self.conn.execute(
                text("SELECT id FROM tokens WHERE id = :id FOR UPDATE"), {"id": self.token_id}
            )

    def __exit__(self, *_: object) -> None:
        if self.engine.dialect.name == "sqlite":
            self.raw.execute("ROLLBACK")
            self.raw.close()
        else:
            self.conn.rollback()
            self.conn.close()


def test_a_locked_database_costs_one_brief_try_a_minute(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    rules = load_ruleset(DEFAULT_RULES_DIR)
    with Session(engine) as session:
        accounts.add(session, rules, CLERK, "a-long-pass-phrase-2026", now=T0)
        token, row = identity.issue_token(session, CLERK, now=T0)
    caplog.set_level(logging.WARNING, logger="appeals.auth")
    with WriteLock(engine, row.id):
        for n in range(5):
            with Session(engine) as session:
                who = identity.authenticate(session, rules, token, now=T0 + timedelta(seconds=n))
            assert who.staff_id == CLERK
    failed = [r for r in caplog.records if "could not record" in r.getMessage()]
    assert len(failed) == 1, [r.getMessage() for r in caplog.records]
    with Session(engine) as session:
        assert session.get(TokenRow, row.id).last_used_at is None  # type: ignore[union-attr]
    # The lock gone and the minute over, the next request records the use.
    later = T0 + timedelta(minutes=2)
    with Session(engine) as session:
        identity.authenticate(session, rules, token, now=later)
    with Session(engine) as session:
        assert session.get(TokenRow, row.id).last_used_at == later  # type: ignore[union-attr]


def test_the_bookkeeping_leaves_the_pool_as_it_found_it(tmp_path: Path) -> None:
    """The full fault run's 500s ("Cannot operate on a closed database"): the usual
    lock wait was restored after the commit had handed an overflow connection back to
    the pool, which closed it. Here every session's connection is closed when handed back."""
    url = f"sqlite:///{tmp_path}/pool.db"
    migrate(url)
    rules = load_ruleset(DEFAULT_RULES_DIR)
    with Session(make_engine(url)) as session:
        accounts.add(session, rules, CLERK, "a-long-pass-phrase-2026", now=T0)
        token, row = identity.issue_token(session, CLERK, now=T0)
    # NullPool closes every connection handed back, as a full pool closes an overflow one.
    engine = create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False})
    for n in range(3):
        with Session(engine) as session:
            later = T0 + timedelta(minutes=2 * (n + 1))
            assert identity.authenticate(session, rules, token, now=later).staff_id == CLERK
        with Session(engine) as session:
            assert session.get(TokenRow, row.id).last_used_at == later  # type: ignore[union-attr]
    engine.dispose()


def test_the_bookkeeping_forgets_tries_older_than_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running API sees many tokens: what it remembers of their tries is
    bounded, and what it drops is only what no longer decides anything."""
    url = f"sqlite:///{tmp_path}/a.db"
    migrate(url)
    engine = make_engine(url)
    rules = load_ruleset(DEFAULT_RULES_DIR)
    later = T0 + timedelta(minutes=2)
    stale = {f"old-{n}": T0 - timedelta(minutes=5) for n in range(identity.TRIED_KEPT)}
    recent = {"recent": later - timedelta(seconds=10)}
    monkeypatch.setattr(identity, "_tried", stale | recent)
    with Session(engine) as session:
        accounts.add(session, rules, CLERK, "a-long-pass-phrase-2026", now=T0)
        token, row = identity.issue_token(session, CLERK, now=T0)
        token_id = row.id
        assert identity.authenticate(session, rules, token, now=later)
    assert set(identity._tried) == {"recent", token_id}
    engine.dispose()
