"""The policy table, tested exhaustively through the API: every action × role, for a
person whose scope reaches the target and one whose scope does not. Allowed requests
carry a body the endpoint refuses as input (422), which proves the permission check
passed without changing the case; refusals are 403 with one line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlmodel import Session

from auth.policy import Action, Role, Scope, scope_of
from db.tables import ClusterMemberRow, ClusterRow
from tests.conftest import eventually
from tests.frontdoor import INTAKE, FrontDoor

PROBE = {"probe": "a field no action takes"}

# For each role: a person whose scope reaches the targets, and one whose scope does not
# (None where the role's scope is the whole deployment).
INSIDE = {
    Role.clerk: "clerk.huang",  # 天河区 (440106)
    Role.handler: "hrss.tianhe.wang",  # 天河区人社局, the lead office
    Role.head: "hrss.tianhe.li",
    Role.supervisor: "sup.tianhe.ma",
    Role.liaison: "yangcheng_run.liaison.tang",
    Role.admin: "admin.ops",
}
OUTSIDE = {
    Role.clerk: "clerk.panyu.fang",  # 番禺区
    Role.handler: "hrss.panyu.feng",
    Role.head: "hrss.city.zhao",  # head of the city's office, not of 天河's
    Role.supervisor: "sup.panyu.ou",
    Role.liaison: "didi.liaison.luo",
    Role.admin: None,
}


@dataclass
class Targets:
    case: str  # 天河: wage arrears, lead 天河区人社局, co 天河区总工会
    lead_task: str
    liaison_task: str  # the platform 羊城跑腿's liaison task of a second case in 天河
    cluster: str  # a cluster with the 天河 case as member, led by 天河区人社局


Request = Callable[[httpx.AsyncClient, Targets, Role], Awaitable[httpx.Response]]


def _task_for(t: Targets, role: Role) -> str:
    return t.liaison_task if role is Role.liaison else t.lead_task


def _case_verb(verb: str) -> Request:
    return lambda c, t, _: c.post(f"/api/v1/cases/{t.case}/{verb}", json=PROBE)


def _task_verb(verb: str) -> Request:
    return lambda c, t, r: c.post(f"/api/v1/tasks/{_task_for(t, r)}/{verb}", json=PROBE)


def _get(path: str, **params: str) -> Request:
    return lambda c, t, _: c.get(path, params=params)


# How each action is asked for, and whether it reads a list filtered by scope (200 for
# everyone the role allows) or one case or task (403 outside the scope).
ENDPOINTS: dict[Action, tuple[Request, bool]] = {
    Action.case_open: (lambda c, t, _: c.post("/api/v1/cases", json=PROBE), False),
    Action.case_read: (lambda c, t, _: c.get(f"/api/v1/cases/{t.case}"), False),
    Action.case_reveal: (
        lambda c, t, _: c.post(f"/api/v1/cases/{t.case}/reveal", json=PROBE),
        False,
    ),
    Action.case_withdraw: (_case_verb("withdraw"), False),
    Action.case_callback: (_case_verb("callback"), False),
    Action.case_urge: (_case_verb("urge"), False),
    Action.case_set_plan: (_case_verb("set-plan"), False),
    Action.case_proceed: (_case_verb("proceed"), False),
    Action.case_designate: (_case_verb("designate"), False),
    Action.case_repeats: (lambda c, t, _: c.post("/api/v1/cases/repeats", json=PROBE), False),
    Action.cluster_read: (_get("/api/v1/clusters"), True),
    Action.cluster_designate: (
        lambda c, t, _: c.post(f"/api/v1/clusters/{t.cluster}/designate", json=PROBE),
        False,
    ),
    Action.cluster_reply: (
        lambda c, t, _: c.post(f"/api/v1/clusters/{t.cluster}/reply", json=PROBE),
        False,
    ),
    Action.task_read: (lambda c, t, r: c.get(f"/api/v1/tasks/{_task_for(t, r)}"), False),
    **{
        action: (_task_verb(action.value.removeprefix("task.").replace("_", "-")), False)
        for action in Action
        if action.value.startswith("task.") and action is not Action.task_read
    },
    Action.overdue_read: (_get("/api/v1/supervision/overdue"), True),
    Action.returns_read: (_get("/api/v1/supervision/returns"), True),
    Action.board_read: (_get("/api/v1/supervision/board"), True),
    Action.queue_review: (_get("/api/v1/supervision/review"), True),
    Action.queue_extensions: (_get("/api/v1/supervision/extensions"), True),
    Action.queue_callbacks: (_get("/api/v1/supervision/callbacks"), True),
    Action.mail_read: (_get("/api/v1/supervision/mail"), True),
    Action.report_read: (_get("/api/v1/reports/figures", by="office"), True),
    Action.report_drill: (
        _get("/api/v1/reports/drill", key="hrss.tianhe", metric="received"),
        True,
    ),
    Action.mail_resend: (lambda c, t, _: c.post("/api/v1/mail/no-such-mail/resend"), False),
    Action.staff_read: (_get("/api/v1/staff"), True),
    Action.rules_explain: (
        _get(
            "/api/v1/rules/explain",
            category="wage_arrears",
            occupation="rider",
            residence="440106",
            workplace="440106",
        ),
        True,
    ),
    Action.rules_reload: (lambda c, t, _: c.post("/api/v1/rules/reload"), True),
    Action.sla_due: (_get("/api/v1/sla/due", start="2026-09-30T10:00+08:00", period="5wd"), True),
    Action.users_admin: (_get("/api/v1/users"), True),
    Action.codec_decode: (lambda c, t, _: c.post("/api/v1/codec/decode", json=PROBE), False),
    Action.codec_encode: (lambda c, t, _: c.post("/api/v1/codec/encode", json=PROBE), False),
    # The probe is refused as input (422): nothing is purged by the matrix.
    Action.admin_purge: (lambda c, t, _: c.post("/api/v1/admin/purge", json=PROBE), False),
}
# Further endpoints of an action already above, checked the same way.
MORE_ENDPOINTS: list[tuple[Action, tuple[Request, bool]]] = [
    (Action.overdue_read, (_get("/api/v1/supervision/overdue.csv", within="30d"), True)),
]


async def _targets(door: FrontDoor) -> Targets:
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid("matrix-a")})
        case = r.json()["case_id"]
        r = await clerk.post(
            "/api/v1/cases",
            json=INTAKE
            | {
                "request_id": door.rid("matrix-l"),
                "category": "platform_penalty",
                "platform": "yangcheng_run",
                "summary": "平台无故罚款五百元，申诉无人处理",
            },
        )
        other = r.json()["case_id"]

        async def tasks_of(case_id: str, n: int) -> list[dict[str, str]] | None:
            found = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["tasks"]
            return found if len(found) >= n else None

        lead = next(
            t["id"] for t in await eventually(lambda: tasks_of(case, 2)) if t["role"] == "lead"
        )
        liaison = next(
            t["id"] for t in await eventually(lambda: tasks_of(other, 4)) if t["role"] == "liaison"
        )
    return Targets(case=case, lead_task=lead, liaison_task=liaison, cluster=_cluster(door, case))


def _cluster(door: FrontDoor, case: str) -> str:
    """A cluster row as the cluster workflow projects it once designated: five cases
    would take the workflow a while to form, and the permission checks read only the
    row (its members' regions and its lead office), before any body is looked at."""
    now = datetime.now(UTC)
    with Session(door.stack.engine) as session:
        session.add(
            ClusterRow(
                id="CL-MATRIX0001",
                workflow_id="CL-platform-wage_arrears-meituan",
                version=1,
                rule="platform",
                category="wage_arrears",
                platform="meituan",
                status="designated",
                size=1,
                threshold=5,
                window="7d",
                first_at=now,
                last_at=now,
                formed_at=now,
                lead_office_id="hrss.tianhe",
                lead_office_name="天河区人力资源和社会保障局",
            )
        )
        session.add(
            ClusterMemberRow(
                cluster_id="CL-MATRIX0001",
                case_id=case,
                joined_at=now,
                region="440106",
                place="440106",
                department="hrss",
            )
        )
        session.commit()
    return "CL-MATRIX0001"


def _expected(action: Action, role: Role, inside: bool, is_list: bool) -> set[int]:
    scope = scope_of(action, role)
    if scope is None:
        return {403}
    if action is Action.mail_resend:
        return {404}  # allowed, but there is no such mail to resend
    if inside or is_list or scope is Scope.any:
        return {200} if is_list or action in (Action.case_read, Action.task_read) else {422}
    return {403}


async def test_every_action_for_every_role_inside_and_outside_scope(door: FrontDoor) -> None:
    assert set(ENDPOINTS) == set(Action), "every action in the policy needs its request here"
    targets = await _targets(door)
    wrong: list[str] = []
    checked = 0
    for role in Role:
        for inside, person in ((True, INSIDE[role]), (False, OUTSIDE[role])):
            if person is None:
                continue
            async with await door.as_user(person) as c:
                for action, (request, is_list) in [*ENDPOINTS.items(), *MORE_ENDPOINTS]:
                    r = await request(c, targets, role)
                    checked += 1
                    want = _expected(action, role, inside, is_list)
                    detail = r.json().get("detail") if r.status_code >= 400 else None
                    if r.status_code not in want:
                        wrong.append(f"{action} by {person}: {r.status_code} {r.text[:120]}")
                    elif r.status_code == 403 and (
                        not isinstance(detail, str) or not detail or "\n" in detail
                    ):
                        wrong.append(f"{action} by {person}: 403 without one line: {r.text}")
    assert not wrong, f"{len(wrong)} of {checked} requests broke the policy:\n" + "\n".join(wrong)
    endpoints = len(ENDPOINTS) + len(MORE_ENDPOINTS)
    assert checked == endpoints * (len(INSIDE) + sum(1 for p in OUTSIDE.values() if p))
