"""The front door on a real stack for tests: a Temporal dev server, the worker with the
real activities, the SQLite read model with seeded accounts, and the FastAPI app —
in-process (httpx over ASGI) or served by uvicorn on a free port (for the browser)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor

from api.app import create_app
from auth.accounts import seed_dev
from routing_rules import load_ruleset
from services.context import Context
from settings import Settings
from tests.conftest import Stack, running_stack

PASSWORD = "dev-password-2026"  # the dev stack's shared password, as APPEALS_DEV_PASSWORD


@dataclass
class FrontDoor:
    stack: Stack
    ctx: Context
    app: FastAPI

    def rid(self, name: str) -> str:
        """A request id of this test's own: the dev server (and so every case id) is
        shared by the session's tests, each on its own task queue and read model."""
        return f"{name}-{self.stack.task_queue[-12:]}"

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://appeals.test")

    async def token(self, staff_id: str, password: str = PASSWORD) -> str:
        async with self.client() as c:
            r = await c.post("/api/v1/token", data={"username": staff_id, "password": password})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])

    async def as_user(self, staff_id: str) -> httpx.AsyncClient:
        """A client that sends ``staff_id``'s bearer token (close it after use)."""
        c = self.client()
        c.headers["Authorization"] = f"Bearer {await self.token(staff_id)}"
        return c


@contextlib.asynccontextmanager
async def front_door(
    env: WorkflowEnvironment, settings: Settings, interceptors: Sequence[Interceptor] = ()
) -> AsyncIterator[FrontDoor]:
    async with running_stack(env, settings, interceptors=interceptors) as stack:
        live = settings.model_copy(update={"task_queue": stack.task_queue})
        ctx = Context(settings=live, engine=stack.engine)
        ctx._client = env.client  # the worker's server
        with Session(stack.engine) as session:
            seed_dev(session, load_ruleset(live.rules_dir), PASSWORD, now=datetime.now(UTC))
        yield FrontDoor(stack=stack, ctx=ctx, app=create_app(live, ctx=ctx))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a real HTTP server for the browser)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


INTAKE: dict[str, Any] = {
    "name": "王小明",
    "phone": "13800138001",
    "occupation": "rider",
    "platform": "meituan",
    "category": "wage_arrears",
    "summary": "配送站拖欠两个月工资，站长失联",
    "residence": "440106",
    "workplace": "440106",
}
