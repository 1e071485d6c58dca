"""Request dependencies: the app context, sessions, the caller and role guards."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from claims.errors import DomainError, Invalid
from forecasts.accounts.service import Principal, hash_token, principal_for_token
from forecasts.ledger.roles import Role
from web.context import AppContext

_bearer = HTTPBearer(auto_error=False, description="An API token from `forecast-ledger user add`")


async def refuse_nul_bytes(request: Request) -> None:
    """Applied to every route: a NUL byte in the path or the query is a 422 before anything
    reaches the database (PostgreSQL cannot store one in text, and no field takes one)."""
    if "\x00" in request.scope["path"]:
        raise Invalid("path", "must not contain NUL bytes", where="path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise Invalid(name.replace("\x00", ""), "must not contain NUL bytes", where="query")


class Unauthenticated(DomainError):
    """No token, or a bad or revoked one (401)."""


async def get_context(request: Request) -> AppContext:
    # async on purpose: a plain `def` dependency costs a thread-pool hop on every request
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


def read_session(ctx: Ctx) -> Iterator[Session]:
    with ctx.db.reading() as session:
        yield session


def write_session(ctx: Ctx) -> Iterator[Session]:
    """A session for changes; the domain function commits, an error rolls back."""
    with ctx.db.writing() as session:
        try:
            yield session
        except Exception:
            session.rollback()
            raise


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    ctx: AppContext = request.app.state.ctx
    token = credentials.credentials
    principal = ctx.cached_principal(hash_token(token))
    if principal is None:
        principal = await run_in_threadpool(_lookup, ctx, token)
        if principal is None:
            raise Unauthenticated("the token is unknown or revoked")
        ctx.remember_principal(principal)
    return principal


def _lookup(ctx: AppContext, token: str) -> Principal | None:
    with ctx.db.reading() as session:
        return principal_for_token(session, token)


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated("send an API token as 'Authorization: Bearer <token>'")
    return principal


async def current_editor(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    principal.require(Role.EDITOR)
    return principal


async def current_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    principal.require(Role.ADMIN)
    return principal


MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
Caller = Annotated[Principal, Depends(current_principal)]
Editor = Annotated[Principal, Depends(current_editor)]
Admin = Annotated[Principal, Depends(current_admin)]
