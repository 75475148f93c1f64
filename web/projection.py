"""Read-your-writes for the screens: an action is taken by the workflow at once, but
the read model follows a moment later; the page waits for it briefly before showing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sized

from services.offloop import off_loop

TIMEOUT = 5.0


async def until_changed(count: Callable[[], int], before: Sized, timeout: float = TIMEOUT) -> None:
    """Wait until ``count()`` grows past ``len(before)`` (a new timeline event), or the
    timeout: the page then shows what the read model has, and a reload shows the rest."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        # The count reads the read model: off the event loop, which serves everyone.
        if await off_loop(count) > len(before):
            return
        await asyncio.sleep(0.05)
