"""The FastAPI application: routers, error handlers, the group committer, logs and metrics."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI

from claims.clock import Clock, utc_now
from forecasts.submit.groupcommit import GroupCommitter
from web import apidocs, errors, metrics, notifications, openapi, pages
from web.api import (
    accounts,
    claimants,
    claims,
    email,
    forecasts,
    imports,
    ledger,
    resolution,
    scores,
    webhooks,
)
from web.api.views import forecast_answer
from web.context import AppContext
from web.db import Database
from web.deps import refuse_nul_bytes
from web.fastpath import LedgerAPI, SubmitFastLane
from web.hosts import HostCheck
from web.limits import BodySizeLimit
from web.migrate import upgrade
from web.ratelimits import RateLimiter, SignInGate
from web.requestlog import RequestLog
from web.security import SecurityHeaders
from web.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    migrate: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings.database_url)
    gate = SignInGate(settings.sign_in_rate, settings.sign_in_total, settings.password_hashing)
    rate = RateLimiter(settings.rate_limit)
    ctx = AppContext(settings=settings, db=db, clock=clock, rate=rate, sign_ins=gate)
    notifications.install(settings.public_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(db.write_engine)
        key_ttl = timedelta(hours=settings.idempotency_hours)
        ctx.committer = GroupCommitter(
            db.write_engine,
            clock,
            answer=forecast_answer,
            key_ttl=key_ttl,
            on_batch=metrics.observe_batch,
        )
        db.start_checkpoints()
        try:
            yield
        finally:
            ctx.committer.close()
            db.dispose()

    app = LedgerAPI(
        title="Forecast Ledger",
        version="0.1.0",
        description="A public, tamper-evident ledger of probabilistic forecasts.",
        lifespan=lifespan,
        docs_url=None,  # web/apidocs.py serves /docs without a CDN
        redoc_url=None,
        dependencies=[Depends(refuse_nul_bytes)],
    )
    app.state.ctx = ctx
    errors.install(app)
    api_modules = (claims, forecasts, ledger, imports, accounts, email, resolution, scores)
    for module in (*api_modules, claimants, webhooks):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ledger.health_router)
    # the same check under the API's prefix, for clients that only know /api/v1
    app.include_router(ledger.health_router, prefix=API_PREFIX)
    app.include_router(metrics.router(settings.metrics_allow))
    apidocs.install(app)
    pages.install(app, settings)
    openapi.install(app)
    # outermost: the cap applies before anything reads a body; every answer gets the headers
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    # in front of all of the above, after the Host check: see web/fastpath.py
    app.fast_lane = SubmitFastLane(ctx, settings.max_body_bytes)
    app.host_check = (
        HostCheck(settings.public_url, hsts=settings.secure_cookies)
        if settings.public_url
        else None
    )
    app.request_log = RequestLog(settings.log_format)  # around the lane too
    return app


def served() -> FastAPI:
    """The app `forecast-ledger serve` runs in each worker (the parent runs the scheduler)."""
    return create_app(migrate=False)
