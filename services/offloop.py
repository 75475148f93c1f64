"""Blocking work off the API's event loop, and a bound on the whole of an action.

The API answers every request on one event loop. A read of the read model made there
stops every other request for as long as it waits: on a locked SQLite that is its busy
timeout (30 s), then the connection pool's (30 s), then the Update's own 30 s. The fault
harness saw handlers' notes get no answer within 90 s, and no line in the server's log,
while SQLite was locked: the action's reads had stalled the loop. Database reads in an
``async`` path therefore run in a worker thread (``off_loop``), and an action as a whole
answers within ``ACTION_BUDGET`` (``answered_within``): after it, a 503 that says the
action may still take effect (the Update, once sent, is the workflow's to apply), and
that a retry with the same Idempotency-Key is the same action.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from anyio import to_thread

from services.errors import Unavailable

T = TypeVar("T")

# Over the Update's own 30 s (services/temporal.py), so that a slow Update is answered in
# its own words; under the 60 s at which proxies and people give up.
ACTION_BUDGET = timedelta(seconds=45)


async def off_loop(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread (Starlette's pool, shared with the
    synchronous routes). Cancelled (the budget ran out), the request returns at once and
    the thread is left to finish its read; it writes nothing a caller relies on."""
    return await to_thread.run_sync(partial(fn, *args, **kwargs), abandon_on_cancel=True)


@asynccontextmanager
async def answered_within(
    what: str, retry: str, budget: timedelta | None = None
) -> AsyncIterator[None]:
    """Bound the block at ``budget`` (``ACTION_BUDGET``); past it, ``Unavailable``:
    ``what`` may still take effect, and ``retry`` says how to try again without doing
    it twice."""
    budget = budget or ACTION_BUDGET
    bound = asyncio.timeout(budget.total_seconds())
    try:
        async with bound:
            yield
    except TimeoutError:
        if not bound.expired():
            raise  # a timeout of the block's own, reported as it is
        raise Unavailable(
            f"no answer within {int(budget.total_seconds())} s; {what} may still take "
            f"effect: {retry}"
        ) from None
