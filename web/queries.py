"""Reads the screens need that the services do not offer as such, built on the
services' own scope clauses (``services.scope``), so they reach no further."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from auth.identity import Principal
from auth.policy import Action
from db.tables import CaseRow, TaskRow
from services.context import Context
from services.privacy import masked_summary
from services.scope import case_task_clause, required_scope
from services.views import iso


def callback_queue(ctx: Context, p: Principal, *, limit: int = 200) -> list[dict[str, Any]]:
    """Cases in the clerk's scope waiting for the callback (回访), oldest first; the
    worker's identity is not in the list (the case page reveals it, audited)."""
    scope = required_scope(p, Action.case_callback)
    in_scope = select(col(TaskRow.case_id)).where(case_task_clause(p, scope))
    stmt = (
        select(CaseRow)
        .where(col(CaseRow.status) == "awaiting_callback", col(CaseRow.case_id).in_(in_scope))
        .order_by(col(CaseRow.opened_at))
        .limit(limit)
    )
    with ctx.session() as session:
        rows = list(session.scalars(stmt).all())
    categories = ctx.rules.categories
    return [
        {
            "id": c.case_id,
            "category_label": categories[c.category].label
            if c.category in categories
            else c.category,
            "summary": masked_summary(c),
            "reply": c.reply,
            "opened_at": iso(c.opened_at, ctx.settings),
            "urgent": c.urgent,
        }
        for c in rows
    ]
