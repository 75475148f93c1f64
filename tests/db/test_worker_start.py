"""A worker started while the read model's database is down waits for it, saying so,
instead of exiting (found by the fault harness: a worker killed while PostgreSQL was
stopped came back, exited, came back …), and starts once the database answers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bench.chaos.pg import PgServer, unavailable_reason
from settings import Settings
from tests.conftest import eventually
from worker import migrated


async def test_a_worker_started_while_postgresql_is_down_waits_for_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    caplog.set_level(logging.WARNING, logger="worker")
    server = PgServer()
    try:
        await asyncio.to_thread(server.init)  # made, not started: nothing listens
        waiting = asyncio.create_task(
            migrated(Settings(data_dir=tmp_path, database_url=server.url))
        )

        async def said() -> bool:
            return "the read model does not answer" in caplog.text

        await eventually(said, timeout=30)
        assert not waiting.done()
        await asyncio.to_thread(server.start)
        assert await asyncio.wait_for(waiting, 60)
    finally:
        await asyncio.to_thread(server.remove)


async def test_a_waiting_worker_stops_when_told(tmp_path: Path) -> None:
    stop = asyncio.Event()
    url = "postgresql+psycopg://appeals@127.0.0.1:9/postgres"  # nothing listens on port 9
    waiting = asyncio.create_task(migrated(Settings(data_dir=tmp_path, database_url=url), stop))
    await asyncio.sleep(0.5)
    stop.set()
    assert await asyncio.wait_for(waiting, 30) is False
