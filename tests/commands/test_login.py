"""`appeals login | whoami | logout` against a real HTTP server: the token file is the
owner's only (0600), APPEALS_TOKEN overrides it, and failures are one line."""

from __future__ import annotations

import stat

from api.app import create_app
from tests.commands.conftest import Appeals, serving
from tests.frontdoor import free_port

PASSWORD = "rider-desk-2026"


def test_login_keeps_the_token_for_the_owner_only(appeals: Appeals) -> None:
    appeals("users", "add", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n")
    appeals("users", "add", "sup.zhang", "--password-stdin", stdin=PASSWORD + "\n")
    token_file = appeals.config_dir / "token"
    # A file left readable by others (an old copy, a careless umask) is replaced.
    appeals.config_dir.mkdir(parents=True)
    token_file.write_text("ap_stale")
    token_file.chmod(0o644)
    with serving(create_app(appeals.settings)) as url:
        a = Appeals(appeals.data_dir, appeals.env | {"APPEALS_API_URL": url}, appeals.outputs)
        assert (
            "wrong user name or password"
            in a(
                "login", "--username", "clerk.li", "--password-stdin", stdin="wrong-one-x\n", code=1
            ).stderr
        )
        out = a("login", "--username", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n")
        assert "as clerk.li (李静, clerk)" in out.stdout
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token_file.read_text().startswith("ap_")
        assert a("whoami").stdout.split()[:3] == ["clerk.li", "李静", "clerk"]

        # APPEALS_TOKEN wins over the file.
        other = appeals("users", "token", "create", "sup.zhang", "--name", "ci").stdout.strip()
        assert a("whoami", APPEALS_TOKEN=other).stdout.startswith("sup.zhang")
        refused = a("whoami", APPEALS_TOKEN="ap_0000000000000000_nope", code=1).stderr
        assert refused.strip().endswith("run `appeals login`")

        assert "logged out" in a("logout").stdout
        assert not token_file.exists()
        assert "not logged in" in a("whoami", code=1).stderr
    assert PASSWORD not in "\n".join(appeals.outputs)


def test_unreachable_api_and_usage_errors_are_one_line(appeals: Appeals) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    refused = appeals("tasks", APPEALS_API_URL=url, APPEALS_TOKEN="ap_x_y", code=1).stderr
    assert refused.strip() == f"error: cannot reach the API at {url}: is `appeals dev` running?"
    assert "Missing option '--reason'" in appeals("withdraw", "AP-1", code=2).stderr
    assert "No such command 'frobnicate'" in appeals("frobnicate", code=2).stderr
    assert "No such option: --as" in appeals("accept", "AP-1-T1", "--as", "x", code=2).stderr
