"""Every refusal is ``{"detail": "<one line>"}`` with its status; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from temporalio.bridge.temporal_sdk_bridge import (  # type: ignore[import-not-found]
    RPCError as BridgeRPCError,
)
from temporalio.service import RPCError

from services.errors import ServiceError, Unauthenticated

log = logging.getLogger("appeals.api")


def _validation_line(e: RequestValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden" and where == "actor":
            msg = "the actor is the logged-in person; do not send it"
        parts.append(f"{where}: {msg}")
    return " ".join(("invalid input: " + "; ".join(parts)).split())[:500]


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, e: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(e, Unauthenticated) else None
        body = {"detail": e.message, **(e.extra or {})}
        return JSONResponse(body, status_code=e.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_line(e)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, e: HTTPException) -> JSONResponse:
        detail = e.detail if isinstance(e.detail, str) else "request refused"
        return JSONResponse(
            {"detail": " ".join(detail.split())}, status_code=e.status_code, headers=e.headers
        )

    # A part that did not answer, wherever a service did not say so itself: a refusal to
    # try again (503), not an internal error. The fault harness saw 500s here while
    # Temporal restarted (a connection refused before the client wraps it) and while
    # SQLite was locked (every pooled connection waiting on it).
    @app.exception_handler(RPCError)
    @app.exception_handler(BridgeRPCError)
    async def _temporal_down(request: Request, e: Exception) -> JSONResponse:
        log.warning("Temporal did not answer on %s %s: %s", request.method, request.url.path, e)
        return JSONResponse({"detail": "Temporal did not answer; try again shortly"}, 503)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, e: Exception) -> JSONResponse:
        # The error's class only: SQL parameters may hold a worker's personal data.
        log.warning(
            "the database did not answer on %s %s: %s",
            request.method,
            request.url.path,
            type(e).__name__,
        )
        return JSONResponse({"detail": "the database did not answer; try again shortly"}, 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        # Logged with the path only: bodies may hold a worker's personal data.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)
