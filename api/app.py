"""The FastAPI application: /api/v1 and the web screens, over one service context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors
from api.limits import BodyLimit
from api.routes import cases, clusters, directory, login, reports, supervision, tasks, users
from db.engine import make_engine
from services.context import Context
from settings import Settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, ctx: Context | None = None) -> FastAPI:
    """The app for ``appeals serve``, ``appeals dev`` and the tests."""
    context = ctx or Context(settings=settings, engine=make_engine(settings.db_url))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if ctx is None:  # an engine we made is ours to close
            context.engine.dispose()

    app = FastAPI(
        title="appeals",
        version="1",
        summary="Routing gig workers' grievances (新就业群体诉求) to the offices that own them",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = context
    api = APIRouter(prefix=API_PREFIX)
    for module in (login, cases, tasks, supervision, reports, clusters, directory, users):
        api.include_router(module.router)
    app.include_router(api)
    errors.install(app)
    from web.routes import install as install_web

    install_web(app)
    app.add_middleware(BodyLimit)
    return app
