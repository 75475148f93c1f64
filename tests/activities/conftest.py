"""A real SMTP server (aiosmtpd) that can be stopped and started on the same port, and a
fresh migrated SQLite read model per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import make_engine, migrate
from tests.smtp import SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'appeals.db'}"
    migrate(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()
