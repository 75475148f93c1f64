"""Logging in and out, and the home page that sends each role to its own screen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from auth import tokens
from auth.identity import revoke
from auth.policy import Action, Role
from services.directory import staff
from services.errors import Unauthenticated
from services.login import log_in
from services.scope import required_scope
from web.render import page
from web.session import Ctx, Me, PageRoute, clear_session, same_origin, set_session
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
    if not same_origin(request):
        message = "请从本系统的登录页登录。"
        return page(request, "login.html", 403, me=None, username="", error=message)
    try:
        p, token, _ = await log_in(ctx, username, password, name="web")
    except Unauthenticated:
        message = "用户名或密码错误，请重新输入（连续输错 5 次，账号将锁定 15 分钟）。"
        return page(request, "login.html", 401, me=None, username=username[:64], error=message)
    response = RedirectResponse(HOME[p.role], status_code=303)
    set_session(response, request, token)
    return response


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
