"""The policy table and the people it reads: roles and region scopes from the directory,
and the README's matrix, which must be the table itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from auth.identity import principal_for
from auth.policy import POLICY, Action, Role, Scope, matrix_markdown
from db.tables import TaskRow
from routing_rules import DEFAULT_RULES_DIR, load_ruleset
from services.scope import task_in_scope

README = Path(__file__).parents[2] / "README.md"
RULES = load_ruleset(DEFAULT_RULES_DIR)


def test_every_action_has_a_row_and_the_readme_shows_the_table() -> None:
    assert set(POLICY) == set(Action)
    assert matrix_markdown() in README.read_text(encoding="utf-8"), (
        "README's matrix is stale: paste the output of `python -m auth.policy`"
    )


def test_roles_and_scopes_come_from_the_directory() -> None:
    head = principal_for(RULES, "hrss.tianhe.li")
    district = principal_for(RULES, "sup.tianhe.ma")
    city = principal_for(RULES, "sup.zhang")
    liaison = principal_for(RULES, "didi.liaison.luo")
    assert head and district and city and liaison
    assert (head.role, head.office) == (Role.head, "hrss.tianhe")
    assert city.regions is None  # the city's supervisor sees everything
    assert district.regions is not None
    assert "440106" in district.regions and "440106008" in district.regions  # 天河南街道
    assert "440113" not in district.regions and "440100" not in district.regions
    assert (liaison.role, liaison.platform) == (Role.liaison, "didi")
    assert principal_for(RULES, "nobody.at.all") is None


def _task(office: str, region: str, role: str = "lead") -> TaskRow:
    return TaskRow(
        task_id="AP-X-T1",
        case_id="AP-X",
        seq=1,
        role=role,
        status="dispatched",
        department=office.split(".")[0],
        region=region,
        office_id=office,
        office_name=office,
        category="wage_arrears",
        dispatched_at=datetime.now(UTC),
    )


def test_scopes_reach_what_they_say() -> None:
    handler = principal_for(RULES, "hrss.tianhe.wang")
    district = principal_for(RULES, "sup.tianhe.ma")
    liaison = principal_for(RULES, "didi.liaison.luo")
    assert handler and district and liaison
    tianhe, panyu = _task("hrss.tianhe", "440106"), _task("hrss.panyu", "440113")
    assert task_in_scope(handler, Scope.office, tianhe)
    assert not task_in_scope(handler, Scope.office, panyu)
    assert task_in_scope(district, Scope.region, tianhe)
    assert not task_in_scope(district, Scope.region, panyu)
    didi = _task("platform.didi", "110108", role="liaison")
    assert task_in_scope(liaison, Scope.platform, didi)
    assert not task_in_scope(
        liaison, Scope.platform, _task("platform.meituan", "110105", "liaison")
    )
