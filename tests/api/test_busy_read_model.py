"""An action waiting on the read model holds nobody else, and is answered in time.

The fault harness saw handlers' notes get no answer within 90 s while SQLite was locked,
and no line in the server's log for them: the action's first read ran on the API's event
loop, so while it waited for a pooled connection every request waited with it. Here
that read is held (the one piece faked: a read that does not return until released;
the harness, bench/faults.py, holds real locks), and the rest is the real front door."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from services import offloop
from services import tasks as task_service
from tests.api.test_actions import _open
from tests.frontdoor import FrontDoor

HELD = 30.0  # seconds a held read waits at most: a loop it blocks shows, never hangs


class HeldRead:
    """``load_task`` that waits until released (or HELD seconds) before reading."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        real = task_service.load_task

        def held(*args: Any) -> Any:
            self.entered.set()
            self.released.wait(HELD)
            return real(*args)

        monkeypatch.setattr(task_service, "load_task", held)

    async def until_entered(self) -> None:
        while not self.entered.is_set():
            await asyncio.sleep(0.01)


async def test_an_action_waiting_on_the_read_model_holds_no_other_request(
    door: FrontDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, task_id = await _open(door, "held-read-1")
    read = HeldRead(monkeypatch)
    async with await door.as_user("hrss.tianhe.wang") as handler:
        action = asyncio.create_task(
            handler.post(f"/api/v1/tasks/{task_id}/note", json={"text": "已电话联系"})
        )
        await read.until_entered()
        # Another person's read is answered while the action still waits.
        async with await door.as_user("sup.zhang") as supervisor:
            board = await supervisor.get(f"/api/v1/cases/{case_id}")
        assert board.status_code == 200
        assert not action.done()
        read.released.set()
        answer = await action
    assert answer.status_code == 200, answer.text


async def test_an_action_past_its_budget_is_a_503_and_its_retry_is_one_action(
    door: FrontDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, task_id = await _open(door, "held-read-2")
    monkeypatch.setattr(offloop, "ACTION_BUDGET", timedelta(seconds=1))
    read = HeldRead(monkeypatch)
    key = {"Idempotency-Key": "note-held-0001"}
    note = f"/api/v1/tasks/{task_id}/note"
    async with await door.as_user("hrss.tianhe.wang") as handler:
        r = await handler.post(note, json={"text": "已电话联系"}, headers=key)
        assert r.status_code == 503
        (line,) = r.json()["detail"].splitlines()
        assert line == (
            "no answer within 1 s; the note may still take effect: "
            "send it again with the same Idempotency-Key"
        )
        read.released.set()
        monkeypatch.setattr(offloop, "ACTION_BUDGET", timedelta(seconds=45))
        r = await handler.post(note, json={"text": "已电话联系"}, headers=key)
        assert r.status_code == 200, r.text
        r = await handler.post(note, json={"text": "已电话联系"}, headers=key)
        assert r.status_code == 200, r.text
        timeline = (await handler.get(f"/api/v1/cases/{case_id}")).json()["timeline"]
    assert [e["detail"] for e in timeline if e["action"] == "note"] == ["已电话联系"]
