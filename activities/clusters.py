"""Concentrated grievances: feeding a new case to its clusters (signal-with-start of
each ClusterWorkflow) and projecting clusters into the read model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel
from temporalio import activity
from temporalio.client import Client

from activities.routing import RoutingActivities
from activities.store import not_older
from db.tables import ClusterMemberRow, ClusterRow
from models.clusters import (
    ClusterInput,
    ClusterMember,
    ClusterProjection,
    JoinClustersRequest,
    JoinClustersResult,
)
from routing_rules.clusters import keys_for, load_cluster_rules


class ClusterActivities:
    """Holds the Temporal client (signal-with-start is a client call, which a workflow
    cannot make), the rules and the read model."""

    def __init__(
        self,
        client: Callable[[], Client],
        routing: RoutingActivities,
        rules_dir: Path,
        engine: Engine,
    ) -> None:
        self._client = client
        self._dir = rules_dir
        self._routing = routing
        self._engine = engine

    @activity.defn(name="join_clusters")
    async def join_clusters(self, req: JoinClustersRequest) -> JoinClustersResult:
        """Signal-with-start the ClusterWorkflow of every cluster rule the case falls
        under. Carries no personal data: a cluster knows cases by id and place."""
        rules = self._routing.rules()
        cluster_rules, problems = load_cluster_rules(self._dir)
        if problems:
            activity.logger.error("clusters.yaml is invalid, no clusters: %s", problems[0])
            return JoinClustersResult()
        keys = keys_for(
            cluster_rules, category=req.category, platform=req.platform, place=req.place
        )
        if not keys:
            return JoinClustersResult()
        head = rules.root_office(req.department) if req.department else None
        supervision = rules.root_office(rules.deployment.fallback_department)
        category = rules.categories.get(req.category)
        roster = rules.roster()
        member = ClusterMember(
            case_id=req.case_id,
            opened_at=req.opened_at,
            region=req.region,
            place=req.place,
            department=req.department,
            head_mailbox=head.head_mailbox if head else None,
        )
        client = self._client()
        for key in keys:
            what = (
                rules.platforms[key.platform].name
                if key.platform and key.platform in rules.platforms
                else rules.region_name(key.place or "")
            )
            inp = ClusterInput(
                cluster_id=key.cluster_id,
                rule=key.rule.id,
                category=req.category,
                category_label=category.label if category else req.category,
                platform=key.platform,
                place=key.place,
                key_label=f"{what} · {category.label if category else req.category}",
                threshold=key.rule.threshold,
                window=key.rule.window,
                window_seconds=int(key.rule.window_delta.total_seconds()),
                supervision_mailbox=supervision.mailbox if supervision else None,
                supervisors=roster.supervisors,
                departments=roster.departments,
            )
            await client.start_workflow(
                "ClusterWorkflow",
                inp,
                id=key.cluster_id,
                task_queue=activity.info().task_queue,
                start_signal="join",
                start_signal_args=[member],
            )
        return JoinClustersResult(clusters=[k.cluster_id for k in keys])

    @activity.defn(name="project_cluster", no_thread_cancel_exception=True)
    def project_cluster(self, c: ClusterProjection) -> None:
        """Upsert the cluster's row (the same or newer versions only) and add its members."""
        values = c.model_dump(exclude={"members", "replace"})
        with Session(self._engine) as session:
            newer = not_older(session, ClusterRow, ClusterRow.id == c.id, c.version, values)
            table = SQLModel.metadata.tables[ClusterMemberRow.__tablename__]
            if c.replace and newer:
                # A forming cluster's members slide out of its window: keep only these.
                session.execute(table.delete().where(table.c.cluster_id == c.id))
            rows = [
                {
                    "cluster_id": c.id,
                    "case_id": m.case_id,
                    "joined_at": m.joined_at,
                    "region": m.region,
                    "place": m.place,
                    "department": m.department,
                }
                for m in c.members
            ]
            if rows and (newer or not c.replace):
                # Members only join: an older projection landing late still adds its own.
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                session.execute(insert(table).values(rows).on_conflict_do_nothing())
            session.commit()
