"""The whole stack in a thread of its own: a Temporal dev server, the worker with the
real activities, the SQLite read model with seeded accounts, and the app served by
uvicorn — all on one asyncio loop that keeps running while the fuzzer's synchronous
calls wait for their answers on the main thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.conftest import BIN
from tests.frontdoor import FrontDoor, front_door, served
from tests.keys import sealed_converter

T = TypeVar("T")


class ThreadedStack:
    """``start()`` returns once the app answers on ``base_url``; ``stop()`` ends it all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = ""
        self._door: FrontDoor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="appeals-fuzz-stack", daemon=True)

    @property
    def door(self) -> FrontDoor:
        assert self._door is not None, "the stack is not running"
        return self._door

    def start(self, timeout: float = 120) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the stack did not start within {timeout:.0f} s")
        if self._error is not None:
            raise RuntimeError("the stack did not start") from self._error

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``coro`` on the stack's loop (where the Temporal client lives)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 60) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the stack did not stop within {timeout:.0f} s")
        if self._error is not None:
            raise RuntimeError("the stack failed") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # noqa: BLE001 - reported by start() or stop()
            self._error = e
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        env = await WorkflowEnvironment.start_local(
            data_converter=sealed_converter(),
            dev_server_existing_path=str(BIN / "temporal"),
            ip="127.0.0.1",
            dev_server_extra_args=["--log-level", "error"],
        )
        try:
            async with front_door(env, self.settings) as door, served(door.app) as url:
                self._door, self.base_url = door, url
                self._ready.set()
                await self._stop.wait()
        finally:
            self._door = None
            await env.shutdown()
