"""Concentrated grievances (集中诉求): list clusters in scope, designate a lead office
for all members (联合处置), and give its one coordinated reply.

A cluster lies in every region one of its members' lead offices works in (so each
district supervisor sees the clusters touching their district; the city's see all);
an office reaches the clusters it leads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlmodel import col

from auth.identity import Principal
from auth.policy import Action, Scope
from db.tables import ClusterMemberRow, ClusterRow
from models.clusters import ClusterReplyInput, ClusterState, DesignateLeadInput
from routing_rules.national_check import not_a_region
from services.context import Context
from services.errors import BadInput, Forbidden, NotFound
from services.offloop import answered_within, off_loop
from services.scope import required_scope
from services.temporal import update
from services.validation import parse
from services.views import iso

FORMED = ("formed", "designated", "replied")
STATUSES = ("forming", *FORMED, "ended")


def _clause(p: Principal, scope: Scope) -> ColumnElement[bool]:
    if scope is Scope.any or (scope is Scope.region and p.regions is None):
        return true()
    if scope is Scope.region:
        assert p.regions is not None
        member = select(col(ClusterMemberRow.cluster_id)).where(
            col(ClusterMemberRow.cluster_id) == col(ClusterRow.id),
            col(ClusterMemberRow.region).in_(sorted(p.regions)),
        )
        return exists(member)
    if scope is Scope.office:
        return col(ClusterRow.lead_office_id) == p.office if p.office else false()
    return false()


def _in_scope(p: Principal, scope: Scope, row: ClusterRow, members: Sequence[Any]) -> bool:
    if scope is Scope.any or (scope is Scope.region and p.regions is None):
        return True
    if scope is Scope.region:
        return any(p.in_region(m.region) for m in members)
    if scope is Scope.office:
        return p.office is not None and row.lead_office_id == p.office
    return False


def list_clusters(
    ctx: Context, p: Principal, *, status: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Clusters in scope, newest first: formed ones (and later stages) unless a
    ``status`` is asked for (``forming``, ``ended`` or ``all``)."""
    scope = required_scope(p, Action.cluster_read)
    if status is not None and status not in (*STATUSES, "all"):
        raise BadInput(f"unknown status {status!r}: one of {', '.join(STATUSES)}, all")
    query = select(ClusterRow).where(_clause(p, scope))
    if status is None:
        query = query.where(col(ClusterRow.status).in_(FORMED))
    elif status != "all":
        query = query.where(col(ClusterRow.status) == status)
    now = now or ctx.now()
    with ctx.session() as session:
        rows = list(session.execute(query.order_by(col(ClusterRow.last_at).desc())).scalars())
        members = _members(session, [r.id for r in rows])
    return [cluster_dict(ctx, r, members.get(r.id, []), now) for r in rows]


def _members(session: Any, ids: list[str]) -> dict[str, list[ClusterMemberRow]]:
    found: dict[str, list[ClusterMemberRow]] = {}
    if not ids:
        return found
    query = (
        select(ClusterMemberRow)
        .where(col(ClusterMemberRow.cluster_id).in_(ids))
        .order_by(col(ClusterMemberRow.joined_at))
    )
    for m in session.execute(query).scalars():
        found.setdefault(m.cluster_id, []).append(m)
    return found


def cluster_dict(
    ctx: Context, r: ClusterRow, members: list[ClusterMemberRow], now: datetime
) -> dict[str, Any]:
    rules = ctx.rules
    category = rules.categories.get(r.category)
    if r.platform is not None:
        platform = rules.platforms.get(r.platform)
        key = platform.name if platform else r.platform
    else:
        key = rules.region_name(r.place or "")
    places = sorted({m.place for m in members})
    age = now - r.first_at
    return {
        "id": r.id,
        "workflow_id": r.workflow_id,
        "rule": r.rule,
        "status": r.status,
        "category": r.category,
        "category_label": category.label if category else r.category,
        "platform": r.platform,
        "place": r.place,
        "key": key,
        "size": r.size,
        "threshold": r.threshold,
        "window": r.window,
        "first_at": iso(r.first_at, ctx.settings),
        "last_at": iso(r.last_at, ctx.settings),
        "formed_at": iso(r.formed_at, ctx.settings),
        "age_days": max(age.days, 0),
        "age": f"{max(age.days, 0)}天{max(age.seconds // 3600, 0)}小时",
        "places": [{"code": c, "name": rules.region_name(c)} for c in places],
        "regions": sorted({m.region for m in members}),
        "members": [
            {
                "case_id": m.case_id,
                "place": m.place,
                "place_name": rules.region_name(m.place),
                "region": m.region,
                "department": m.department,
                "joined_at": iso(m.joined_at, ctx.settings),
            }
            for m in members
        ],
        "lead_office": r.lead_office_name,
        "lead_office_id": r.lead_office_id,
        "designated_by": r.designated_by,
        "reply": r.reply,
        "replied_at": iso(r.replied_at, ctx.settings),
    }


def load_cluster(ctx: Context, cluster_id: str) -> tuple[ClusterRow, list[ClusterMemberRow]]:
    with ctx.session() as session:
        row = session.get(ClusterRow, cluster_id)
        if row is None:
            raise NotFound(f"unknown cluster {cluster_id!r}; see `appeals clusters`")
        members = _members(session, [cluster_id]).get(cluster_id, [])
        session.expunge_all()
    return row, members


def check_cluster(
    p: Principal, action: Action, row: ClusterRow, members: Sequence[ClusterMemberRow]
) -> None:
    scope = required_scope(p, action)
    if not _in_scope(p, scope, row, members):
        raise Forbidden(f"cluster {row.id} is outside your scope")


def show_cluster(ctx: Context, p: Principal, cluster_id: str) -> dict[str, Any]:
    row, members = load_cluster(ctx, cluster_id)
    check_cluster(p, Action.cluster_read, row, members)
    return cluster_dict(ctx, row, members, ctx.now())


async def designate_lead(
    ctx: Context, p: Principal, cluster_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """联合处置: one office leads every member; each member case records it."""
    async with answered_within("the designation", f"look at {cluster_id} before trying again"):
        row, members = await off_loop(load_cluster, ctx, cluster_id)
        check_cluster(p, Action.cluster_designate, row, members)
        arg = parse(DesignateLeadInput, {**body, "actor": p.staff_id, "episode": row.id})
        if arg.department not in ctx.rules.departments:
            raise BadInput(f"unknown department {arg.department!r}")
        if refusal := not_a_region(arg.region, ctx.rules, what="region"):
            raise BadInput(refusal)
        await update(await ctx.client(), row.workflow_id, "cluster", "designate", arg, ClusterState)
        return await _fresh(ctx, cluster_id)


async def reply(
    ctx: Context, p: Principal, cluster_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The lead office's one coordinated reply: every open member takes it as its reply."""
    async with answered_within("the reply", f"look at {cluster_id} before trying again"):
        row, members = await off_loop(load_cluster, ctx, cluster_id)
        check_cluster(p, Action.cluster_reply, row, members)
        arg = parse(ClusterReplyInput, {**body, "actor": p.staff_id, "episode": row.id})
        await update(await ctx.client(), row.workflow_id, "cluster", "reply", arg, ClusterState)
        return await _fresh(ctx, cluster_id)


def _fresh_rows(ctx: Context, cluster_id: str) -> dict[str, Any]:
    row, members = load_cluster(ctx, cluster_id)
    return cluster_dict(ctx, row, members, ctx.now())


async def _fresh(ctx: Context, cluster_id: str) -> dict[str, Any]:
    return await off_loop(_fresh_rows, ctx, cluster_id)
