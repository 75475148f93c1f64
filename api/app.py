"""The FastAPI application: /api/v1 and the web screens, over one service context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors
from api.cors import CodecCors
from api.limits import CODEC_MAX_BODY, BodyLimit
from api.routes import (
    admin,
    cases,
    clusters,
    codec,
    directory,
    login,
    reports,
    supervision,
    tasks,
    users,
)
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
    routers = (login, cases, tasks, supervision, reports, clusters, directory, users, codec, admin)
    for module in routers:
        api.include_router(module.router)
    app.include_router(api)
    errors.install(app)
    from web.routes import install as install_web

    install_web(app)
    codec_prefix = f"{API_PREFIX}/codec/"
    app.add_middleware(BodyLimit, wider={codec_prefix: CODEC_MAX_BODY})
    # Outermost, so that every codec answer (a 413 too) tells the UI's page what it is.
    app.add_middleware(CodecCors, prefix=codec_prefix, origin=settings.codec_origin)
    return app
