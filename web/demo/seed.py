"""Seeding the demo through the domain's own paths: claims are created as editors create them,
histories imported as POST /import/forecasts imports them, and the settled claims resolved by
the settle path, so their scores, leaderboard and calibration come from production code."""

import random
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from claims.claimants import create_claimant
from claims.clock import as_utc
from claims.lifecycle import create_claim
from claims.models import Claim, Claimant
from claims.schemas import ClaimantCreate, ClaimCreate
from claims.states import SETTLED_STATES
from forecasts.accounts.service import create_account
from forecasts.archive.importing import import_forecasts
from forecasts.ledger.models import Account, Forecast
from forecasts.notify.reports import record
from forecasts.resolution.settle import settle_claim
from forecasts.submit.schemas import ForecastIn
from forecasts.submit.service import SubmitRequest, append_batch
from web.api.views import forecast_answer
from web.db import Database
from web.demo.claims import (
    DEMO_CLAIMS,
    ESSAY_CLAIMANT,
    SETTLED_CLAIMS,
    SettledClaim,
    essay_source,
)
from web.demo.histories import FORECASTERS, PERSONAS, Persona, settled_history, undecided_history
from web.demo.kind_claims import (
    CHART_SLUG,
    LIVE_KIND_CLAIMS,
    PRICE_SLUG,
    SETTLED_KIND_CLAIMS,
    chart_probabilities,
    price_quantiles,
    video_quantiles,
)

EDITOR = "desk"
UNDECIDED_SLUG = "gemini-omni-announced-at-io-2026"


def seed_demo(db: Database, *, now: datetime) -> bool:
    """Seed whatever part of the demo is missing; returns False when all of it is there."""
    with db.writing() as session:
        live = _find(session, DEMO_CLAIMS[0]["slug"]) is None
        editor = _account(session, EDITOR, "editor", now)
        accounts = [_account(session, handle, "forecaster", now) for handle in FORECASTERS]
        _essay(session, now)
        if live:
            for spec in DEMO_CLAIMS:
                _create(session, _claim_data(spec), editor, now)
            if now > datetime(2026, 5, 19, 16, tzinfo=UTC):  # the claim's close
                import_forecasts(
                    session, undecided_history(UNDECIDED_SLUG, handles=FORECASTERS), now=now
                )
        decided = SETTLED_CLAIMS + SETTLED_KIND_CLAIMS
        settled = [_seed_settled(session, item, editor, now) for item in decided]
        kinds = [
            _create(session, _claim_data(spec), editor, now)
            for spec in LIVE_KIND_CLAIMS
            if _find(session, spec["slug"]) is None
        ]
    if live:
        _live_forecasts(db, accounts, now)
    if kinds:
        _kind_forecasts(db, accounts, [claim.slug for claim in kinds], now)
    return live or any(settled) or bool(kinds)


def _essay(session: Session, now: datetime) -> None:
    """The essay as a claimant, unless a demo seeded before claimants left it out."""
    slug = ESSAY_CLAIMANT["slug"]
    if session.exec(select(Claimant.id).where(Claimant.slug == slug)).first() is None:
        create_claimant(
            session, ClaimantCreate.model_validate(ESSAY_CLAIMANT), now=now, record=record
        )


def _claim_data(spec: dict[str, Any]) -> ClaimCreate:
    return ClaimCreate.model_validate({**spec, "source": essay_source(spec)})


def _find(session: Session, slug: str) -> Claim | None:
    return session.exec(select(Claim).where(Claim.slug == slug)).first()


def _account(session: Session, handle: str, role: str, now: datetime) -> Account:
    found = session.exec(select(Account).where(Account.handle == handle)).first()
    return found or create_account(session, handle, role=role, now=now)


def _create(session: Session, data: ClaimCreate, editor: Account, now: datetime) -> Claim:
    return create_claim(session, data, editor_id=editor.id, now=now, record=record)


def _seed_settled(session: Session, item: SettledClaim, editor: Account, now: datetime) -> bool:
    """Create, import into and settle one decided claim, each step only if still to do."""
    data = _claim_data(item.spec)
    end = as_utc(item.closed_at or data.closes_at)
    if now < as_utc(data.resolves_at or data.closes_at):
        return False  # a clock before the outcome was known: nothing to settle yet
    claim = _find(session, data.slug)
    if claim is not None and claim.state in SETTLED_STATES:
        return False
    claim = claim or _create(session, data, editor, now)  # closes_at is past: it starts closed
    if session.exec(select(Forecast.id).where(Forecast.claim_id == claim.id)).first() is None:
        start = as_utc(claim.opens_at)  # a claim read back from SQLite may come naive
        if item.history is not None:
            rows = item.history(start, end)
        else:
            outcome = 1.0 if item.outcome == "yes" else 0.0
            rows = settled_history(
                data.slug, outcome=outcome, prior=item.prior, start=start, end=end
            )
        import_forecasts(session, rows, now=now)
    settle_claim(
        session, claim, item.outcome, now=now, closed_at=item.closed_at, note=item.note, by=EDITOR
    )
    return True


def _live_forecasts(db: Database, accounts: list[Account], now: datetime) -> None:
    rng = random.Random(7)
    leanings = {
        "standalone-video-out-of-top-five-2026": 0.7,
        "top-five-video-are-reasoning-stack-features-2026": 0.4,
        "chatgpt-native-video-before-mid-2027": 0.65,
        "standalone-video-app-back-in-top-ten-grossing": 0.3,
        "video-inference-cost-falls-tenfold-2027": 0.55,
    }
    requests = [
        SubmitRequest(
            account_id=int(account.id or 0),
            handle=account.handle,
            slug=slug,
            probability=round(min(0.97, max(0.03, rng.gauss(lean, 0.12))), 2),
            rationale="Demo forecast.",
        )
        for slug, lean in leanings.items()
        for account in accounts
        if rng.random() < 0.85
    ]
    with db.write_engine.begin() as conn:
        append_batch(conn, requests, lambda: max(now, datetime.now(UTC)), answer=forecast_answer)


def _kind_forecasts(db: Database, accounts: list[Account], slugs: list[str], now: datetime) -> None:
    """Each demo forecaster's forecast on the live claims of other kinds just made."""
    requests = [
        SubmitRequest(
            account_id=int(account.id or 0),
            handle=account.handle,
            slug=slug,
            probability=None,
            rationale="Demo forecast.",
            values=_kind_body(slug, persona),
        )
        for slug in slugs
        for account, persona in zip(accounts, PERSONAS, strict=True)
    ]
    with db.write_engine.begin() as conn:
        append_batch(conn, requests, lambda: max(now, datetime.now(UTC)), answer=forecast_answer)


def _kind_body(slug: str, persona: Persona) -> tuple[str, Any] | None:
    """A persona's forecast, read as the API reads a body (dates become times)."""
    body: dict[str, Any] = {"quantiles": video_quantiles(persona)}
    if slug == CHART_SLUG:
        body = {"probabilities": chart_probabilities(persona)}
    elif slug == PRICE_SLUG:
        body = {"quantiles": price_quantiles(persona)}
    return ForecastIn.model_validate(body).values()
