"""The web session: the cookie that carries the token, the person behind it, CSRF.

A page route is declared with ``route_class=PageRoute``; it then answers a missing
session with a redirect to /login and a service's refusal with an HTML page, never
the API's JSON.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from auth.identity import AuthError, Principal, authenticate
from auth.tokens import csrf_for
from services.context import Context
from services.errors import ServiceError
from web.render import error_page

COOKIE = "appeals_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: the person goes to /login (and comes back afterwards)."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: possibly a forged request."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in person of a request, with what their forms must carry."""

    p: Principal
    token: str
    csrf: str


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def viewer(request: Request) -> Viewer:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    ctx = context(request)
    with ctx.session() as session:
        try:
            p = authenticate(session, ctx.rules, token, now=ctx.now())
        except AuthError as e:
            raise LoginRequired from e
    me = Viewer(p=p, token=token, csrf=csrf_for(token))
    request.state.viewer = me  # for the page frame (who is logged in, the CSRF token)
    return me


Ctx = Annotated[Context, Depends(context)]
Me = Annotated[Viewer, Depends(viewer)]


async def checked_form(request: Request, me: Me) -> FormData:
    """The POSTed form, once its CSRF token (field or htmx header) matches the session."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    # Compared as bytes: compare_digest refuses non-ASCII text with a TypeError.
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), me.csrf.encode()):
        raise CsrfRefused
    return form


Form = Annotated[FormData, Depends(checked_form)]


def fields(form: FormData, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A form's text fields without the CSRF token; empty fields count as not given."""
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == CSRF_FIELD or key in drop or not isinstance(value, str):
            continue
        if value.strip():
            out[key] = value
    return out


def set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=8 * 3600,
    )


def _secure(request: Request) -> bool:
    ctx: Context = request.app.state.ctx
    return ctx.settings.cookie_secure or request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """Whether a POST comes from our own pages (login has no session, hence no CSRF
    token, so a page elsewhere must not be able to log a victim into its account)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def to_login(request: Request) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


class PageRoute(APIRoute):
    """A route whose refusals are pages: login, a 403/404/409 page, never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return to_login(request)
            except CsrfRefused:
                return error_page(
                    request, 403, "表单已失效或来源不明（CSRF 校验未通过）：请刷新页面后重试。"
                )
            except ServiceError as e:
                return error_page(request, e.status, e.message)
            except RequestValidationError:
                return error_page(request, 422, "请求参数有误：请从页面上的链接和表单进入。")

        return page
