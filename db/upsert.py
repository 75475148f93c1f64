"""Inserts that meet an existing key, on either backend of the read model.

The rows go to the database as parameters (an executemany), never into the statement:
a statement carrying its rows (a multi-row ``VALUES``) is compiled again on every call,
which was a quarter of the CPU of a rung's projection write. This one is compiled once
per shape and taken from SQLAlchemy's cache after that.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"the read model supports SQLite and PostgreSQL, not {dialect}")


# Built once per shape, too: building one (its ``excluded`` columns) cost as much again.
@functools.cache
def _upsert(dialect: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    insert = _insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=list(key), set_={c: insert.excluded[c] for c in columns}
    )


@functools.cache
def _insert_ignoring(dialect: str, table: Table) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing()


def upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    update: Iterable[str] | None = None,
) -> None:
    """Insert ``rows``; a row whose ``key`` is there already has its ``update`` columns
    (by default every other column of the first row) written over."""
    if not rows:
        return
    columns = tuple(c for c in (update if update is not None else rows[0]) if c not in key)
    stmt = _upsert(session.get_bind().dialect.name, table, tuple(key), columns)
    session.execute(stmt, list(rows))


def insert_ignoring(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``; a row whose key is there already is left as it is."""
    if rows:
        session.execute(_insert_ignoring(session.get_bind().dialect.name, table), list(rows))
