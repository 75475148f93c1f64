"""Rendering pages: one Jinja2 environment (autoescaped), the page frame's context and
the headers every page carries."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from web import labels
from web.clocks import clock_class

HERE = Path(__file__).parent
# Autoescape everywhere: every worker's or officer's text is escaped; no template
# marks user data |safe.
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
templates = Jinja2Templates(env=env)


def action_key() -> str:
    """A fresh Idempotency-Key for each rendered action form: the same form sent twice
    (a double click, the browser sending it again) is one action, not two notes."""
    return uuid.uuid4().hex


templates.env.globals.update(L=labels, clock_class=clock_class, action_key=action_key)
templates.env.filters.update(
    when=labels.when, action_label=labels.action, status_label=labels.status
)

# Scripts and styles from this origin only: an injected tag in a worker's text could
# not run even if escaping ever failed. htmx's own indicator style is turned off.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` with the logged-in person (``me``) and the request in its context."""
    context.setdefault("me", getattr(request.state, "viewer", None))
    context.setdefault("rules", request.app.state.ctx.rules)
    response: HTMLResponse = templates.TemplateResponse(
        request, template, context, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    if request.app.state.ctx.settings.cookie_secure:  # served over https by the proxy
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


ERROR_TITLES = {
    403: "无权查看或操作",
    404: "找不到该页面或记录",
    409: "操作未被接受",
    422: "输入有误",
    503: "服务暂时不可用",
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = ERROR_TITLES.get(status, "请求未完成")
    return page(request, "error.html", status, title=title, message=message, code=status)
