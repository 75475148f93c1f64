"""Who you are: no token, a bad, expired or revoked token, a wrong password, repeated
failures, a disabled account and a person who left the directory all lose access."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from auth import accounts
from auth.identity import REFUSED, issue_token
from routing_rules import DEFAULT_RULES_DIR
from tests.frontdoor import PASSWORD, FrontDoor


async def test_no_bad_expired_or_revoked_token_is_401(door: FrontDoor) -> None:
    async with door.client() as c:
        r = await c.get("/api/v1/tasks")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "log in" in r.json()["detail"]
        r = await c.get("/api/v1/tasks", headers={"Authorization": "Bearer ap_nonsense"})
        assert r.status_code == 401
        with Session(door.stack.engine) as session:
            expired, _ = issue_token(
                session, "clerk.li", now=datetime.now(UTC) - timedelta(hours=9)
            )
        r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
        assert (r.status_code, r.json()["detail"]) == (401, "this token has expired: log in again")
        with Session(door.stack.engine) as session:
            token, row = accounts.create_personal_token(
                session, "clerk.li", name="script", days=30, now=datetime.now(UTC)
            )
        r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.json()["staff_id"] == "clerk.li"  # a personal token works as a bearer
        with Session(door.stack.engine) as session:
            accounts.revoke_token(session, row.id, now=datetime.now(UTC))
        r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.json()["detail"]) == (401, "this token was revoked: log in again")


async def test_wrong_password_slows_then_locks(
    door: FrontDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("services.login.asyncio.sleep", record)
    async with door.client() as c:
        r = await c.post("/api/v1/token", data={"username": "nobody", "password": "x" * 12})
        assert (r.status_code, r.json()["detail"]) == (401, REFUSED)
        delays.clear()
        for _ in range(5):
            r = await c.post("/api/v1/token", data={"username": "clerk.li", "password": "wrong!"})
            assert r.status_code == 401
        assert delays[:2] == [0.0, 0.0] and delays[2] < delays[3], delays  # slower, then…
        r = await c.post("/api/v1/token", data={"username": "clerk.li", "password": PASSWORD})
        # …locked, even for the right password, in the same words (a lock must not tell
        # a guesser that the name is a real account).
        assert (r.status_code, r.json()["detail"]) == (401, REFUSED)
        assert PASSWORD not in r.text


async def test_disabling_an_account_ends_its_tokens_at_once(door: FrontDoor) -> None:
    handler = await door.as_user("hrss.tianhe.wang")
    async with handler, await door.as_user("admin.ops") as admin:
        assert (await handler.get("/api/v1/tasks")).status_code == 200
        r = await admin.post("/api/v1/users/hrss.tianhe.wang/disable")
        assert r.status_code == 200
        r = await handler.get("/api/v1/tasks")
        assert r.status_code == 401
        async with door.client() as c:
            r = await c.post(
                "/api/v1/token", data={"username": "hrss.tianhe.wang", "password": PASSWORD}
            )
            assert r.status_code == 401
        users = (await admin.get("/api/v1/users")).json()
        assert next(u for u in users if u["staff_id"] == "hrss.tianhe.wang")["disabled"]
        assert all("password" not in key for u in users for key in u)


async def test_a_person_removed_from_the_directory_loses_access(
    door: FrontDoor, tmp_path: Path
) -> None:
    handler = await door.as_user("hrss.tianhe.wang")
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    staff = rules / "staff.yaml"
    kept = [ln for ln in staff.read_text().splitlines() if "id: hrss.tianhe.wang," not in ln]
    staff.write_text("\n".join(kept) + "\n")
    async with handler:
        door.ctx.settings = door.ctx.settings.model_copy(update={"rules_dir": rules})
        door.ctx.reload_rules()
        r = await handler.get("/api/v1/tasks")
        assert (r.status_code, r.json()["detail"]) == (
            401,
            "this account is no longer in the staff directory",
        )


async def test_logout_revokes_the_token(door: FrontDoor) -> None:
    async with await door.as_user("clerk.li") as clerk:
        assert (await clerk.delete("/api/v1/token")).status_code == 204
        r = await clerk.get("/api/v1/me")
        assert (r.status_code, r.json()["detail"]) == (401, "this token was revoked: log in again")


async def test_a_new_password_ends_every_old_session(door: FrontDoor) -> None:
    async with await door.as_user("clerk.chen") as old:
        with Session(door.stack.engine) as session:
            accounts.set_password(session, "clerk.chen", "a-new-long-secret", now=datetime.now(UTC))
        r = await old.get("/api/v1/me")
        assert (r.status_code, r.json()["detail"]) == (401, "this token was revoked: log in again")
    assert await door.token("clerk.chen", "a-new-long-secret")
