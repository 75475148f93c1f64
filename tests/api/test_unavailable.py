"""A part that does not answer is a 503 with one line, never a 500: the fault harness
saw 500s on POST /cases while Temporal restarted (a connection refused by the SDK's
core, before the client wraps it) and on reads while SQLite was locked (the pool's
connections all waiting on the lock). The handlers alone, on routes that raise what the
harness saw; the harness itself (bench/faults.py) proves them against real parts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.bridge.temporal_sdk_bridge import (  # type: ignore[import-not-found]
    RPCError as BridgeRPCError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.errors import install

RAISED: dict[str, Exception] = {
    "temporal-core": BridgeRPCError((14, "tcp connect error", b"")),
    "temporal": RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""),
    "database": OperationalError("INSERT …", {"phone": "13900000000"}, Exception("locked")),
    "pool": PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
}


def failing(error: Exception) -> Callable[[], Awaitable[None]]:
    async def fail() -> None:
        raise error

    return fail


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install(app)
    for name, error in RAISED.items():
        app.add_api_route(f"/{name}", failing(error))
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("name", list(RAISED))
def test_a_part_that_does_not_answer_is_a_503_in_one_line(client: TestClient, name: str) -> None:
    answer = client.get(f"/{name}")
    assert answer.status_code == 503
    (line,) = answer.json()["detail"].splitlines()
    assert "try again shortly" in line
    assert "13900000000" not in answer.text
