"""POST /api/v1/token (OAuth2 password flow) and GET /api/v1/me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import Ctx, CurrentUser, oauth2
from auth import tokens
from auth.identity import revoke
from services.login import log_in

router = APIRouter(tags=["identity"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str


class Me(BaseModel):
    staff_id: str
    name: str
    role: str
    department: str
    region: str
    office: str | None
    platform: str | None


@router.post("/token", response_model=TokenOut)
async def token(ctx: Ctx, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """Exchange a user name and password for a bearer token (8 hours)."""
    _, raw, expires = await log_in(ctx, form.username, form.password)
    return TokenOut(access_token=raw, expires_at=expires)


@router.get("/me", response_model=Me)
def me(p: CurrentUser) -> Any:
    """Who the token belongs to, as the directory describes them now."""
    return Me(
        staff_id=p.staff_id,
        name=p.name,
        role=p.role.value,
        department=p.department,
        region=p.region,
        office=p.office,
        platform=p.platform,
    )


@router.delete("/token", status_code=204)
def logout(p: CurrentUser, ctx: Ctx, token: Annotated[str | None, Depends(oauth2)]) -> None:
    """Revoke the token this request carries (``appeals logout``)."""
    parts = tokens.split(token or "")
    if parts is not None:
        with ctx.session() as session:
            revoke(session, parts[0], now=ctx.now())
