"""`appeals users …` on a real SQLite database: accounts, passwords, disabling, and
personal tokens, checked against the API that honours them."""

from __future__ import annotations

import json

from tests.commands.conftest import Appeals

PASSWORD = "rider-desk-2026"
NEW_PASSWORD = "another-desk-2027"


def login(appeals: Appeals, user: str, password: str) -> int | str:
    """The token from POST /api/v1/token, or the status code of the refusal."""
    with appeals.api() as api:
        r = api.post("/api/v1/token", data={"username": user, "password": password})
    return str(r.json()["access_token"]) if r.status_code == 200 else r.status_code


def me(appeals: Appeals, token: str) -> int:
    with appeals.api() as api:
        return int(api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code)


def test_add_passwd_disable_enable(appeals: Appeals) -> None:
    out = appeals("users", "add", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n")
    assert "clerk.li (李静, clerk) added" in out.stdout
    assert (
        "not in the staff directory"
        in appeals(
            "users", "add", "nobody.here", "--password-stdin", stdin=PASSWORD + "\n", code=1
        ).stderr
    )
    assert (
        "already has an account"
        in appeals(
            "users", "add", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n", code=1
        ).stderr
    )
    assert (
        "at least 10 characters"
        in appeals("users", "add", "sup.zhang", "--password-stdin", stdin="short\n", code=1).stderr
    )
    # Without a terminal and without --password-stdin there is nothing to prompt on.
    assert "--password-stdin" in appeals("users", "add", "sup.zhang", stdin="", code=1).stderr

    token = login(appeals, "clerk.li", PASSWORD)
    assert isinstance(token, str) and me(appeals, token) == 200

    appeals("users", "passwd", "clerk.li", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert login(appeals, "clerk.li", PASSWORD) == 401
    assert isinstance(login(appeals, "clerk.li", NEW_PASSWORD), str)

    personal = appeals("users", "token", "create", "clerk.li", "--name", "report").stdout.strip()
    assert me(appeals, personal) == 200

    # Disabling ends every right at once: the login's token and the personal one.
    assert "disabled" in appeals("users", "disable", "clerk.li").stdout
    assert me(appeals, token) == 401 and me(appeals, personal) == 401
    assert login(appeals, "clerk.li", NEW_PASSWORD) == 401
    listed = {a["staff_id"]: a for a in json.loads(appeals("users", "list", "--json").stdout)}
    assert listed["clerk.li"]["disabled"] is True

    appeals("users", "enable", "clerk.li")
    fresh = login(appeals, "clerk.li", NEW_PASSWORD)
    assert isinstance(fresh, str) and me(appeals, fresh) == 200
    assert me(appeals, token) == 401  # revoked tokens stay revoked
    assert "no account 'sup.zhang'" in appeals("users", "disable", "sup.zhang", code=1).stderr

    # No password, hash or token secret in anything the commands printed.
    everything = "\n".join(appeals.outputs)
    assert PASSWORD not in everything and NEW_PASSWORD not in everything
    assert "argon2" not in everything
    table = appeals("users", "list").stdout
    assert "clerk.li" in table and "李静" in table


def test_personal_tokens(appeals: Appeals) -> None:
    appeals("users", "add", "sup.zhang", "--password-stdin", stdin=PASSWORD + "\n")
    assert (
        "between 1 and 366 days"
        in appeals(
            "users", "token", "create", "sup.zhang", "--name", "x", "--days", "400", code=1
        ).stderr
    )
    made = appeals("users", "token", "create", "sup.zhang", "--name", "nightly", "--days", "30")
    token = made.stdout.strip()
    assert token.startswith("ap_") and len(made.stdout.splitlines()) == 1
    assert "shown only this once" in made.stderr and token not in made.stderr
    assert me(appeals, token) == 200

    listed = json.loads(appeals("users", "token", "list", "sup.zhang", "--json").stdout)
    assert [(t["staff_id"], t["name"], t["state"]) for t in listed] == [
        ("sup.zhang", "nightly", "active")
    ]
    token_id = listed[0]["id"]
    assert token.startswith(f"ap_{token_id}_")
    secret = token.removeprefix(f"ap_{token_id}_")
    assert secret not in appeals("users", "token", "list").stdout
    assert json.loads(appeals("users", "token", "list", "clerk.li", "--json").stdout) == []

    appeals("users", "token", "revoke", token_id)
    assert me(appeals, token) == 401
    listed = json.loads(appeals("users", "token", "list", "--json").stdout)
    assert listed[0]["state"] == "revoked"
    assert "no token" in appeals("users", "token", "revoke", "0000000000000000", code=1).stderr
    assert secret not in "\n".join(appeals.outputs[2:]).replace(made.stdout, "")
