"""What every route shares: the context, the authenticated person."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from auth.identity import AuthError, Principal, authenticate
from services.actions import ACTION_KEY
from services.context import Context
from services.errors import Unauthenticated

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/token", auto_error=False)


async def get_context(request: Request) -> Context:
    # async: a plain function would cost every request a hop to the thread pool.
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


def principal_from_token(ctx: Context, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("not authenticated: log in (POST /api/v1/token) or send a token")
    with ctx.session() as session:
        try:
            return authenticate(session, ctx.rules, token, now=ctx.now())
        except AuthError as e:
            raise Unauthenticated(str(e)) from e


def get_current_user(ctx: Ctx, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    return principal_from_token(ctx, token)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


# A client's key for one action, sent again with a retry: the retry is answered by the
# first attempt's outcome, never applied twice (e.g. after a 503 "no answer within 30 s;
# the action may still take effect").
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=f"^{ACTION_KEY.pattern}$",  # the services' own rule (services/actions.py)
        description="the same key on a retry of this action makes it one action",
    ),
]
