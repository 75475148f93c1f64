"""Concentrated grievances (集中诉求): list, show, designate a lead office, its reply."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth.policy import Action
from services import clusters
from services.actions import Body
from services.scope import required_scope

router = APIRouter(prefix="/clusters", tags=["clusters"])
ClusterId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


def on_cluster(action: Action) -> Any:
    """The person may do ``action`` on this cluster (role, then scope), before the body."""

    def check(cluster_id: ClusterId, p: CurrentUser, ctx: Ctx) -> None:
        required_scope(p, action)
        row, members = clusters.load_cluster(ctx, cluster_id)
        clusters.check_cluster(p, action, row, members)

    return Depends(check)


class DesignateBody(Body):
    department: Annotated[str, Field(max_length=40)]
    region: Annotated[str, Field(max_length=12)]
    reason: Annotated[str, Field(min_length=2, max_length=2000)]


class ReplyBody(Body):
    text: Annotated[str, Field(min_length=2, max_length=2000)]


@router.get("", dependencies=[needs(Action.cluster_read)])
def list_clusters(
    p: CurrentUser,
    ctx: Ctx,
    status: Annotated[
        str | None, Query(max_length=16, description="forming, ended or all; default: formed")
    ] = None,
) -> list[dict[str, Any]]:
    """Clusters in your scope with members, size, places and age."""
    return clusters.list_clusters(ctx, p, status=status)


@router.get("/{cluster_id}", dependencies=[on_cluster(Action.cluster_read)])
def show_cluster(cluster_id: ClusterId, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """One cluster with its members."""
    return clusters.show_cluster(ctx, p, cluster_id)


@router.post("/{cluster_id}/designate", dependencies=[on_cluster(Action.cluster_designate)])
async def designate(
    cluster_id: ClusterId, body: DesignateBody, p: CurrentUser, ctx: Ctx
) -> dict[str, Any]:
    """联合处置: one lead office for every member of a formed cluster."""
    return await clusters.designate_lead(ctx, p, cluster_id, body.model_dump())


@router.post("/{cluster_id}/reply", dependencies=[on_cluster(Action.cluster_reply)])
async def reply(cluster_id: ClusterId, body: ReplyBody, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """The lead office's one coordinated reply to every member."""
    return await clusters.reply(ctx, p, cluster_id, body.model_dump())
