"""Your account and API tokens: list, create (shown once), revoke; admins set roles."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from claims.clock import stamp
from claims.text import SLUG_PATTERN, ShortText
from forecasts.accounts.service import hash_token, issue_token, revoke_token, set_role
from forecasts.ledger.models import Account, ApiToken
from web.api.paging import RowId
from web.deps import Admin, Caller, Ctx, ReadSession, WriteSession
from web.errors import responses

router = APIRouter(tags=["accounts"])


class TokenOut(BaseModel):
    id: int
    label: str
    created_at: str
    revoked_at: str | None


class NewToken(BaseModel):
    id: int = Field(description="Revoke it with DELETE /me/tokens/{id}")
    token: str
    note: str = "Shown once: only its hash is stored."


class MeOut(BaseModel):
    handle: str
    role: str
    tokens: list[TokenOut]


@router.get("/me", response_model=MeOut, responses=responses(401))
def me(session: ReadSession, caller: Caller) -> MeOut:
    rows = session.exec(
        select(ApiToken).where(ApiToken.account_id == caller.account_id).order_by(col(ApiToken.id))
    )
    tokens = [
        TokenOut(
            id=t.id or 0,
            label=t.label,
            created_at=stamp(t.created_at),
            revoked_at=stamp(t.revoked_at) if t.revoked_at else None,
        )
        for t in rows
    ]
    return MeOut(handle=caller.handle, role=caller.role, tokens=tokens)


@router.post(
    "/me/tokens", status_code=201, response_model=NewToken, responses=responses(401, 409, 422)
)
def create_token(
    response: Response,
    session: WriteSession,
    ctx: Ctx,
    caller: Caller,
    label: ShortText = Body(default="", embed=True, max_length=100),
) -> NewToken:
    """A new token, shown once (409 when the account has the most live tokens it may)."""
    account = session.get(Account, caller.account_id)
    assert account is not None
    token = issue_token(session, account, now=ctx.clock(), label=label)
    response.headers["Cache-Control"] = "no-store"
    # issue_token gives the text only; its hash finds the row (unique, indexed)
    token_id = session.exec(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    return NewToken(id=token_id.one() or 0, token=token)


@router.delete("/me/tokens/{token_id}", status_code=204, responses=responses(401, 404))
def delete_token(token_id: RowId, session: WriteSession, ctx: Ctx, caller: Caller) -> None:
    revoke_token(session, token_id, account_id=caller.account_id, now=ctx.clock())
    ctx.forget_tokens()


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["forecaster", "editor", "admin"]


class RoleOut(BaseModel):
    handle: str
    role: str


@router.put(
    "/accounts/{handle}/role",
    response_model=RoleOut,
    responses=responses(401, 403, 404, 409, 422),
)
def put_role(
    handle: Annotated[str, Path(max_length=40, pattern=SLUG_PATTERN)],
    body: RoleIn,
    session: WriteSession,
    ctx: Ctx,
    admin: Admin,
) -> RoleOut:
    """Make an account a forecaster, an editor or an admin (the last admin stays one).

    This process forgets the tokens it knows at once; other processes within a couple of
    seconds (their cache of tokens).
    """
    account = set_role(session, handle, body.role)
    ctx.forget_tokens()
    return RoleOut(handle=account.handle, role=account.role)
