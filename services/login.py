"""Logging in, for the API and the web alike: off the event loop, a few at a time, and
slowly after repeated failures."""

from __future__ import annotations

import asyncio
import unicodedata

from auth.identity import REFUSED, AuthError, Principal, issue_token, login
from services.context import Context
from services.errors import Unauthenticated

# Argon2 costs ~0.3 s of CPU: run at most two at once, in threads, so that a burst of
# bad logins neither blocks every other request nor takes every core.
_HASHING = asyncio.Semaphore(2)


def _plausible(username: str, password: str) -> bool:
    if not username or len(username) > 64 or not password or len(password) > 200:
        return False
    return not any(unicodedata.category(ch).startswith("C") for ch in username)


async def log_in(
    ctx: Context, username: str, password: str, *, name: str | None = None
) -> tuple[Principal, str, str]:
    """(person, bearer token, its expiry as ISO text); Unauthenticated when refused."""

    def check() -> tuple[Principal, str, str]:
        with ctx.session() as session:
            p = login(session, ctx.rules, username, password, now=ctx.now())
            token, row = issue_token(session, p.staff_id, now=ctx.now(), name=name)
            return p, token, row.expires_at.isoformat()

    try:
        if not _plausible(username, password):
            raise AuthError(REFUSED, delay=0.5)
        async with _HASHING:
            return await asyncio.to_thread(check)
    except AuthError as e:
        # Repeated failures are answered slowly: guessing costs time, not just a request.
        await asyncio.sleep(e.delay)
        raise Unauthenticated(str(e)) from e
