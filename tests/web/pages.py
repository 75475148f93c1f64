"""Helpers for the web tests: a logged-in browser-less client, a case opened through
the services, its lead task once routed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from auth.identity import principal_for
from auth.tokens import csrf_for
from services.cases import open_case, show_case
from tests.conftest import eventually
from tests.frontdoor import INTAKE, PASSWORD, FrontDoor
from web.session import COOKIE


@contextlib.asynccontextmanager
async def logged_in(door: FrontDoor, staff_id: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client holding ``staff_id``'s session cookie, and the CSRF token its forms carry."""
    async with door.client() as c:
        r = await c.post("/login", data={"username": staff_id, "password": PASSWORD})
        assert r.status_code == 303, r.text
        token = c.cookies.get(COOKIE)
        assert token
        yield c, csrf_for(token)


async def open_and_route(
    door: FrontDoor, request_id: str, roles: tuple[str, ...] = ("lead",), **fields: Any
) -> dict[str, Any]:
    """Open a case as clerk.li through the services; the case once it has a task of
    each of ``roles`` (the tasks are projected one by one, in no fixed order)."""
    clerk = principal_for(door.ctx.rules, "clerk.li")
    assert clerk is not None
    case_id = await open_case(
        door.ctx, clerk, INTAKE | {"request_id": door.rid(request_id)} | fields
    )

    async def routed() -> dict[str, Any] | None:
        case = show_case(door.ctx, clerk, case_id)
        present = {t["role"] for t in case["tasks"]}
        return case if present.issuperset(roles) else None

    return await eventually(routed)


def lead_task(case: dict[str, Any]) -> str:
    return str(next(t["id"] for t in case["tasks"] if t["role"] == "lead"))
