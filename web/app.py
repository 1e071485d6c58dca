"""The FastAPI application: routers, error handlers, the group committer and the scheduler."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI

from claims.clock import Clock, utc_now
from forecasts.groupcommit import GroupCommitter
from web import errors, openapi, pages, scheduler
from web.api import accounts, claims, forecasts, imports, ledger, resolution, scores
from web.context import AppContext
from web.db import Database
from web.deps import refuse_nul_bytes
from web.fastpath import LedgerAPI, SubmitFastLane
from web.hosts import HostCheck
from web.limits import BodySizeLimit
from web.migrate import upgrade
from web.ratelimits import RateLimiter, SignInGate
from web.security import SecurityHeaders
from web.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    run_scheduler: bool = False,
    migrate: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings.database_url)
    gate = SignInGate(settings.sign_in_rate, settings.sign_in_total, settings.password_hashing)
    rate = RateLimiter(settings.rate_limit)
    ctx = AppContext(settings=settings, db=db, clock=clock, rate=rate, sign_ins=gate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(db.write_engine)
        key_ttl = timedelta(hours=settings.idempotency_hours)
        ctx.committer = GroupCommitter(db.write_engine, clock, key_ttl=key_ttl)
        db.start_checkpoints()
        jobs = scheduler.start(ctx) if run_scheduler else None
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
            ctx.committer.close()
            db.dispose()

    app = LedgerAPI(
        title="Forecast Ledger",
        version="0.1.0",
        description="A public, tamper-evident ledger of probabilistic forecasts.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul_bytes)],
    )
    app.state.ctx = ctx
    errors.install(app)
    for module in (claims, forecasts, ledger, imports, accounts, resolution, scores):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ledger.health_router)
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
    return app
