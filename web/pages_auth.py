"""Logging in and out, and the home page that sends each role to its own screen."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from auth import tokens
from auth.identity import AuthError, issue_token, login, revoke
from auth.policy import Action, Role
from services.directory import staff
from services.scope import required_scope
from web.render import page
from web.session import Ctx, Me, PageRoute, clear_session, set_session
from web.session import Form as CheckedForm

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HOME = {
    Role.clerk: "/cases/new",
    Role.handler: "/inbox",
    Role.head: "/inbox",
    Role.supervisor: "/board",
    Role.liaison: "/platform",
    Role.admin: "/admin",
}

MESSAGES = {
    "wrong user name or password": "用户名或密码错误，请重新输入。",
}


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "login.html", me=None, username="", error=None)


@router.post("/login")
async def login_submit(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        if not username or len(username) > 64 or not password or len(password) > 200:
            raise AuthError("wrong user name or password", delay=0.5)
        with ctx.session() as session:
            p = login(session, ctx.rules, username, password, now=ctx.now())
            token, _ = issue_token(session, p.staff_id, now=ctx.now(), name="web")
    except AuthError as e:
        # Repeated failures are answered slowly: guessing costs time, not just a request.
        await asyncio.sleep(e.delay)
        message = MESSAGES.get(str(e), _locked(str(e)))
        return page(request, "login.html", 401, me=None, username=username[:64], error=message)
    response = RedirectResponse(HOME[p.role], status_code=303)
    set_session(response, request, token)
    return response


def _locked(message: str) -> str:
    if "locked until" in message:
        until = message.rsplit("until", 1)[-1].strip()
        return f"连续输错次数过多，账号已暂时锁定（至 {until}）。"
    return message


@router.post("/logout")
def logout(request: Request, ctx: Ctx, me: Me, _: CheckedForm) -> Response:
    parts = tokens.split(me.token)
    if parts is not None:
        with ctx.session() as session:
            revoke(session, parts[0], now=ctx.now())
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


@router.get("/")
def home(me: Me) -> Response:
    return RedirectResponse(HOME[me.p.role], status_code=303)


@router.get("/admin")
def admin(request: Request, ctx: Ctx, me: Me) -> Response:
    """Accounts are administered with the CLI; the page lists who is in the directory."""
    required_scope(me.p, Action.users_admin)
    people = staff(ctx, me.p)
    return page(request, "admin.html", people=people)
