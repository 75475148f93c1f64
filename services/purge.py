"""Retention for administrators through the API (``POST /api/v1/admin/purge``): the
same purge as `appeals purge` and the nightly schedule (activities/purge.py), with the
administrator's staff id in the audit row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

from activities.purge import purge as run_purge
from auth.identity import Principal
from auth.policy import Action
from services.context import Context
from services.errors import Unavailable
from services.scope import required_scope


def purge(ctx: Context, p: Principal, *, dry_run: bool) -> dict[str, Any]:
    """Purge what is due now (or, dry, say what would be): case ids and counts only."""
    required_scope(p, Action.admin_purge)
    s = ctx.settings
    try:
        result = run_purge(
            ctx.engine,
            now=ctx.now(),
            retention_days=s.retention_days,
            repeat_window_days=s.repeat_window_days,
            actor=p.staff_id,
            dry_run=dry_run,
        )
    except OperationalError as e:
        raise Unavailable("the database did not answer; nothing was purged") from e
    return result.as_dict()
