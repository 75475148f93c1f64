"""Administration over the read model: the retention purge (`appeals purge` locally)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth.policy import Action
from services import purge as purging
from services.actions import Body

router = APIRouter(prefix="/admin", tags=["admin"])


class PurgeBody(Body):
    dry_run: bool = False


@router.post("/purge", dependencies=[needs(Action.admin_purge)])
def purge(body: PurgeBody, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """Blank the personal data of cases closed more than APPEALS_RETENTION_DAYS ago and
    the repeat hashes of cases closed more than APPEALS_REPEAT_WINDOW_DAYS ago; the
    figures stay. ``dry_run``: say which cases, change nothing. Answers case ids and
    counts; the audit row names the administrator."""
    return purging.purge(ctx, p, dry_run=body.dry_run)
