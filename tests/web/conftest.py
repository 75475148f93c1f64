"""A dev server for the web tests' session, and the front door over it per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.frontdoor import FrontDoor, front_door


@pytest_asyncio.fixture
async def door(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[FrontDoor]:
    async with front_door(dev_env, settings) as fd:
        yield fd
