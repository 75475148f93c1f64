"""The web screens' routes: static files and one router per screen family."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from web import (
    pages_auth,
    pages_board,
    pages_cases,
    pages_clerk,
    pages_platform,
    pages_report,
    pages_tasks,
)
from web.render import HERE


def install(app: FastAPI) -> None:
    """Mount the pages and static files on the app."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        pages_auth,
        pages_clerk,
        pages_cases,
        pages_tasks,
        pages_board,
        pages_report,
        pages_platform,
    ):
        app.include_router(module.router)
