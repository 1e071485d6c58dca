"""Your email address and what it gets (SPEC §9): PUT, GET, PATCH, DELETE /me/email.

Off (no FORECAST_LEDGER_SMTP_URL or no FORECAST_LEDGER_PUBLIC_URL), every route is a 409.
"""

from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from claims.errors import Conflict, Forbidden, Invalid, TooMany
from claims.text import SLUG_PATTERN
from forecasts.accounts.service import check_password
from forecasts.ledger.models import Account
from forecasts.notify.email.addresses import (
    EmailSettings,
    address_of,
    delete_address,
    set_address,
    settings_of,
    update_settings,
    zone_problem,
)
from forecasts.notify.email.models import EmailAddress
from web.deps import Caller, Ctx, ReadSession, WriteSession
from web.errors import responses
from web.ratelimits import SlowDown

router = APIRouter(tags=["email"])
EMAIL_OFF = "email is off on this site"
Mode = Literal["off", "digest", "immediate"]


def email_on(ctx: Ctx, caller: Caller) -> None:
    """After the caller is known (a 401 first), the 409 when email is off."""
    if not ctx.settings.email_on:
        raise Conflict(EMAIL_OFF)


class StreamsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    closing_soon: Mode | None = None
    stale_forecasts: Mode | None = None
    scores: Mode | None = None
    new_claims: Mode | None = None


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(max_length=254)
    password: str | None = Field(default=None, max_length=1000)


class EmailPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    streams: StreamsIn | None = None
    tags: list[Annotated[str, Field(max_length=40, pattern=SLUG_PATTERN)]] | None = Field(
        default=None, max_length=50
    )
    stale_after_days: int | None = Field(default=None, ge=1, le=3650)
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and (problem := zone_problem(value)):
            raise ValueError(problem)
        return value


# What GET /me/email shows is declared once, by the domain's EmailSettings; mypy cannot see
# fields made at run time, so to it this is a plain model.
if TYPE_CHECKING:
    EmailOut = BaseModel
else:
    EmailOut = create_model("EmailOut", **{f.name: f.type for f in fields(EmailSettings)})


def _out(row: EmailAddress) -> EmailOut:
    return EmailOut.model_validate(settings_of(row), from_attributes=True)


On = Depends(email_on)


@router.put(
    "/me/email",
    status_code=202,
    response_model=EmailOut,
    dependencies=[On],
    responses=responses(401, 403, 409, 422, 429),
)
def put_email(data: EmailIn, session: WriteSession, ctx: Ctx, caller: Caller) -> EmailOut:
    """Set the address (the current password too when the account has one); a confirmation
    link goes to it, and until it is confirmed it gets nothing else."""
    account = session.get(Account, caller.account_id)
    assert account is not None
    if account.password_hash:
        if data.password is None:
            raise Invalid("password", "the account's current password is needed")
        try:
            with ctx.sign_ins.hashing():
                right = check_password(account, data.password)
        except SlowDown as slow:
            raise TooMany(slow.message) from None
        if not right:
            raise Forbidden("the password is not right")
    return _out(set_address(session, caller.account_id, data.address.strip(), now=ctx.clock()))


@router.get(
    "/me/email", response_model=EmailOut, dependencies=[On], responses=responses(401, 404, 409)
)
def get_email(session: ReadSession, caller: Caller) -> EmailOut:
    return _out(address_of(session, caller.account_id))


@router.patch(
    "/me/email", response_model=EmailOut, dependencies=[On], responses=responses(401, 404, 409, 422)
)
def patch_email(
    session: WriteSession, caller: Caller, data: Annotated[EmailPatch, Body()]
) -> EmailOut:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("streams") is not None:
        changes["streams"] = {k: v for k, v in changes["streams"].items() if v is not None}
    changes = {k: v for k, v in changes.items() if v is not None}
    return _out(update_settings(session, caller.account_id, changes))


@router.delete("/me/email", status_code=204, dependencies=[On], responses=responses(401, 404, 409))
def delete_email(session: WriteSession, caller: Caller) -> Response:
    delete_address(session, caller.account_id)
    return Response(status_code=204)
