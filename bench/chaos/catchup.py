"""Has everything caught up? What is still owed once the faults are over, from the
read model and the sink: cases not routed yet, projections behind, mail not sent or not
delivered, clock events due and not fired, and drill clocks still to come. The
scenario waits (with a deadline) until nothing is owed, then checks."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bench.chaos.load import DRILL
from bench.chaos.observe import clock_events
from bench.chaos.parts import Delivery
from db.tables import CaseRow, DeadlineRow, OutboxRow, ProjectionLagRow


def owed(engine: Engine, case_ids: Collection[str], deliveries: list[Delivery]) -> dict[str, int]:
    """What is still owed, by kind (all zero: caught up)."""
    now = datetime.now(UTC)
    with Session(engine) as s:
        routed = s.exec(
            select(func.count())
            .select_from(CaseRow)
            .where(col(CaseRow.case_id).in_(case_ids), col(CaseRow.rule_id).is_not(None))
        ).one()
        lag = s.exec(select(func.count()).select_from(ProjectionLagRow)).one()
        unsent = s.exec(
            select(func.count())
            .select_from(OutboxRow)
            .where(col(OutboxRow.status).in_(["queued", "retrying"]))
        ).one()
        sent = set(s.exec(select(OutboxRow.id).where(OutboxRow.status == "sent")).all())
        events = clock_events(s.exec(select(DeadlineRow)).all())
    delivered = {d.notification for d in list(deliveries)}
    running = [e for e in events if e.fired_at is None and e.stopped_at is None]
    return {
        "cases not routed in the read model": len(case_ids) - int(routed),
        "projections behind": int(lag),
        "mails queued or retrying": int(unsent),
        "mails sent, not at the sink": len(sent - delivered),
        "clock events due, not fired": sum(1 for e in running if e.at <= now),
        "drill clock events to come": sum(1 for e in running if e.plan == DRILL),
    }
