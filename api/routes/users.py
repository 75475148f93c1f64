"""Accounts, for administrators: list, disable (every token revoked at once), enable.
Passwords and personal tokens are set locally with `appeals users …`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import Ctx, CurrentUser
from api.permissions import needs
from auth import accounts
from auth.policy import Action
from services.errors import NotFound
from services.views import iso

router = APIRouter(prefix="/users", tags=["users"], dependencies=[needs(Action.users_admin)])
StaffId = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_.-]+$")]


@router.get("")
def list_users(p: CurrentUser, ctx: Ctx) -> list[dict[str, Any]]:
    """Every account with its role and state (never a password or token)."""
    with ctx.session() as session:
        views = accounts.list_accounts(session, ctx.rules)
    return [
        {
            "staff_id": v.staff_id,
            "name": v.name,
            "role": v.role,
            "office": v.office,
            "disabled": v.disabled,
            "locked_until": iso(v.locked_until, ctx.settings),
            "dev_seeded": v.dev_seeded,
            "last_login_at": iso(v.last_login_at, ctx.settings),
        }
        for v in views
    ]


def _set(ctx: Ctx, staff_id: str, disabled: bool) -> dict[str, Any]:
    with ctx.session() as session:
        try:
            accounts.set_disabled(session, staff_id, disabled, now=ctx.now())
        except accounts.AccountError as e:
            raise NotFound(str(e)) from e
    return {"staff_id": staff_id, "disabled": disabled}


@router.post("/{staff_id}/disable")
def disable(staff_id: StaffId, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """Disable an account: it loses every right at once, running cases included."""
    return _set(ctx, staff_id, True)


@router.post("/{staff_id}/enable")
def enable(staff_id: StaffId, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    return _set(ctx, staff_id, False)
