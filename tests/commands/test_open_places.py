"""`appeals open` with places: a code that exists nowhere, and an address that needs a
choice, are usage errors (exit 2) in one line, before any case is started."""

from __future__ import annotations

from api.app import create_app
from tests.commands.conftest import Appeals, serving

PASSWORD = "rider-desk-2026"
CASE = (
    "open",
    "--name",
    "李四",
    "--phone",
    "13900000000",
    "--occupation",
    "rider",
    "--category",
    "wage_arrears",
    "--summary",
    "拖欠工资两个月",
    "--residence",
    "440106",
)


def test_open_refuses_unknown_codes_and_lists_the_places_an_address_may_mean(
    appeals: Appeals,
) -> None:
    appeals("users", "add", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n")
    with serving(create_app(appeals.settings)) as url:
        a = Appeals(appeals.data_dir, appeals.env | {"APPEALS_API_URL": url}, appeals.outputs)
        a("login", "--username", "clerk.li", "--password-stdin", stdin=PASSWORD + "\n")

        unknown = a(*CASE, "--workplace", "440199", code=2).stderr
        assert "region 440199 is not a current GB/T 2260 division" in unknown
        assert "nearest: 440118 广东省广州市增城区" in unknown

        ambiguous = a(*CASE, "--address", "白云区三元里大道", code=2).stderr
        assert ambiguous.strip() == (
            "error: workplace address '白云区三元里大道': several places have these names; "
            "choose one and give its code as workplace: 440111 广东省广州市白云区, "
            "520113 贵州省贵阳市白云区"
        )
        # One place, but no one confirmed it (no --yes, no terminal to ask at).
        single = a(
            *CASE, "--incident-address", "增城区荔城街道府佑路", "--workplace", "440106", code=2
        )
        assert "proposes 440118001 广东省广州市增城区荔城街道" in single.stderr


def test_rules_explain_refuses_unknown_codes_like_intake(appeals: Appeals) -> None:
    """`appeals rules explain`: a code that exists nowhere is a usage error in one line with
    the nearest real places (before the API or the rules are asked); a real place outside
    the deployment is explained as the external hand-off it would be."""
    from routing_rules import DEFAULT_RULES_DIR

    explain = ("rules", "explain", "--category", "wage_arrears", "--occupation", "rider")
    local = ("--dir", str(DEFAULT_RULES_DIR))
    for flag in ("--residence", "--workplace", "--incident"):
        places = {"--residence": "440106", "--workplace": "440106", flag: "440199"}
        args = [x for kv in places.items() for x in kv]
        for where in (local, ()):  # --dir routes locally; without it the API is asked
            refused = appeals(*explain, *args, *where, code=2).stderr
            assert "region 440199 is not a current GB/T 2260 division" in refused
            assert "nearest: 440118 广东省广州市增城区" in refused
    beijing = appeals(
        *explain, "--residence", "440106", "--workplace", "110108", *local, "--json"
    ).stdout
    assert '"rule"' in beijing
