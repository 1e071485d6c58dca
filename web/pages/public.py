"""The public site: claims, one claim, the leaderboard, a forecaster, the ledger."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from claims.claimants import get_claimant
from claims.clock import stamp
from claims.evidence import body_shown
from claims.kinds import EntryKind
from claims.lifecycle import effective_close
from claims.listing import tags_in_use
from claims.models import Claim, EvidenceSnapshot, Proposal
from claims.states import ClaimKind
from forecasts.accounts.service import Principal, sees_drafts
from forecasts.ledger.chain import head
from forecasts.ledger.models import Account, Forecast, LedgerEntry, Score
from forecasts.score_math.scoring import CROWD_HANDLE
from forecasts.scores.leaderboard import METRICS, leaderboard
from forecasts.submit.history import probability_histories, probability_history
from forecasts.submit.kind_history import distribution_history
from web.api.claims import Status, claims_listing, render_claim, render_claims, visible_claim
from web.api.paging import Cursor
from web.context import AppContext
from web.deps import Ctx, ReadSession
from web.pages.charts import calibration_plot, history_chart, sparkline
from web.pages.kind_forms import ForecastForm
from web.pages.kind_view import crowd_words, forecast_words, kind_view, outcome_text, recorded_text
from web.pages.rendering import render
from web.pages.routing import page_router
from web.pages.session import Page, PageState

router = page_router()
# the ledger page's instructions without FORECAST_LEDGER_PUBLIC_URL
PLACEHOLDER_URL = "<this site's address>"
# Entries that say what a forecaster did; the claim's timeline shows the others.
_FORECAST_KINDS = (
    EntryKind.FORECAST_SUBMITTED,
    EntryKind.FORECAST_WITHDRAWN,
    EntryKind.FORECAST_IMPORTED,
)
METRIC_LABELS = {
    "mean_brier": "Mean Brier (0\u20131), lower is better",
    "mean_time_averaged_brier": "Time-averaged Brier, lower is better",
    "peer_accuracy": "Peer accuracy, higher is better",
    "baseline_total": "Baseline score, higher is better",
    "market_points": "Market points, higher is better",
    "claims_scored": "Claims scored",
    "mean_crps": "Mean CRPS (numbers and dates), lower is better",
}


def _chart_end(claim: Claim, now: datetime) -> datetime:
    return min(now, effective_close(claim))


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    session: ReadSession,
    ctx: Ctx,
    page: Page,
    status: Status | None = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Cursor = None,
) -> Response:
    """Claims, newest first, with crowd probability, a sparkline and filters."""
    tag = tag or None
    listed = claims_listing(session, ctx, page.me, status, tag, cursor, 30)
    items = render_claims(session, ctx, listed.claims, page.me)
    now = ctx.clock()
    histories = probability_histories(
        session, [c.id for c in listed.claims if c.id is not None], ctx.history_cache
    )
    rows = []
    for claim, item in zip(listed.claims, items, strict=True):
        assert claim.id is not None
        history = histories[claim.id]
        spark = sparkline(history, start=claim.opens_at, end=_chart_end(claim, now))
        words = crowd_words(claim, item)
        rows.append(
            {"claim": item, "spark": spark, "kind_crowd": words, "outcome": outcome_text(claim)}
        )
    tags = tags_in_use(session, drafts=sees_drafts(page.me))
    context = dict(
        rows=rows,
        tags=tags,
        statuses=["upcoming", "open", "closed", "proposed", "resolved", "annulled", "ambiguous"],
        status=status,
        tag=tag,
        next_cursor=listed.next_cursor,
    )
    return render(request, "index.html", context)


@router.get("/claims/{slug}", response_class=HTMLResponse)
def claim_page(request: Request, slug: str, session: ReadSession, ctx: Ctx, page: Page) -> Response:
    return claim_response(request, session, ctx, page, slug)


def claim_response(
    request: Request,
    session: Session,
    ctx: AppContext,
    page: PageState,
    slug: str,
    *,
    typed: ForecastForm | None = None,
) -> Response:
    """The claim page; with `typed`, the forecast form as it was sent, and its problems (422)."""
    claim = visible_claim(session, slug, page.me)
    assert claim.id is not None
    out = render_claim(session, ctx, claim, page.me)
    now = ctx.clock()
    end = _chart_end(claim, now)
    if claim.kind == ClaimKind.BINARY:
        history = probability_history(session, claim.id, ctx.history_cache)
        chart, kinds = history_chart(history, start=claim.opens_at, end=end), None
    else:
        chart = None
        points = distribution_history(session, claim.id, ctx.kind_history_cache)
        changes = [(point.at, point.crowd) for point in points]
        kinds = kind_view(claim, out, changes, start=claim.opens_at, end=end)
        if kinds is not None and typed is not None:
            kinds.values, kinds.errors = typed.values, typed.errors
    revealed = out.status not in ("draft", "upcoming", "open")
    snapshots = _snapshots(session, claim.id)
    publish = ctx.settings.publish_private_evidence
    context = dict(
        claim=out,
        chart=chart,
        kinds=kinds,
        timeline=_timeline(session, claim),
        snapshots=snapshots,
        withheld={
            s.id
            for s in snapshots
            if not body_shown(s, editor=page.is_editor, publish_private=publish)
        },
        proposal=_proposal(session, claim.id),
        forecasts=_forecasts(session, claim, revealed=revealed, me=page.me),
        revealed=revealed,
        scores=_scores(session, claim.id),
        is_editor=page.is_editor,
        claimant=get_claimant(session, claim.claimant) if claim.claimant else None,
    )
    return render(request, "claim.html", context, status_code=422 if typed else 200)


def _timeline(session: Session, claim: Claim) -> list[dict[str, Any]]:
    entries = session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.claim_id == claim.id, col(LedgerEntry.kind).not_in(_FORECAST_KINDS))
        .order_by(col(LedgerEntry.seq))
    )
    timeline = []
    for entry in entries:
        payload = json.loads(entry.payload) if entry.payload else {}
        timeline.append(
            {
                "seq": entry.seq,
                "kind": entry.kind.replace("_", " "),
                "at": entry.created_at,
                "hash": entry.hash,
                "outcome": recorded_text(claim, payload.get("outcome")),
                "note": payload.get("note"),
                "by": payload.get("by") or payload.get("handle"),
                "reveals": len(payload.get("reveals", [])),
            }
        )
    return timeline


def _snapshots(session: Session, claim_id: int) -> list[EvidenceSnapshot]:
    query = (
        select(EvidenceSnapshot)
        .where(EvidenceSnapshot.claim_id == claim_id)
        .order_by(col(EvidenceSnapshot.id).desc())
        .limit(20)
    )
    return list(session.exec(query))


def _proposal(session: Session, claim_id: int) -> Proposal | None:
    query = select(Proposal).where(Proposal.claim_id == claim_id).order_by(col(Proposal.id).desc())
    return session.exec(query).first()


def _forecasts(
    session: Session, claim: Claim, *, revealed: bool, me: Principal | None
) -> list[dict[str, Any]]:
    """Everyone's forecasts once the claim has closed; before that only the caller's own."""
    if not revealed and me is None:
        return []
    query = (
        select(Forecast, Account.handle)
        .join(Account, col(Account.id) == Forecast.account_id)
        .where(Forecast.claim_id == claim.id)
        .order_by(col(Forecast.ledger_seq).desc())
        .limit(500)
    )
    if not revealed:
        assert me is not None
        query = query.where(Forecast.account_id == me.account_id)
    return [
        {
            "handle": handle,
            "probability": forecast.probability,
            "said": forecast_words(claim, forecast.distribution),
            "rationale": forecast.rationale,
            "at": forecast.created_at,
            "seq": forecast.ledger_seq,
            "imported": forecast.imported,
        }
        for forecast, handle in session.exec(query)
    ]


def _scores(session: Session, claim_id: int) -> list[Score]:
    order = (col(Score.brier), col(Score.crps), Score.handle)  # crps: numeric and date claims
    query = select(Score).where(Score.claim_id == claim_id).order_by(*order)
    return list(session.exec(query))


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    request: Request,
    session: ReadSession,
    ctx: Ctx,
    page: Page,
    metric: Annotated[str, Query(max_length=40)] = "mean_brier",
    min_claims: Annotated[int, Query(ge=0, le=1_000_000)] = 1,
) -> Response:
    if metric not in METRICS:
        metric = "mean_brier"
    rows, _more = leaderboard(
        session,
        metric=metric,
        min_claims=min_claims,
        limit=200,
        k=ctx.settings.peer_accuracy_prior,
        cache=ctx.interval_cache,
    )
    context = dict(
        rows=rows,
        metric=metric,
        metrics=METRIC_LABELS,
        min_claims=min_claims,
        crowd=CROWD_HANDLE,
        prior=ctx.settings.peer_accuracy_prior,
    )
    return render(request, "leaderboard.html", context)


@router.get("/forecasters/{handle}", response_class=HTMLResponse)
def forecaster_page(
    request: Request, handle: str, session: ReadSession, ctx: Ctx, page: Page
) -> Response:
    profile = ctx.profile(session, handle)
    slugs = [score.claim for score in profile.scores]
    claims = session.exec(select(Claim).where(col(Claim.slug).in_(slugs))).all()
    context = dict(
        profile=profile,
        outcomes={claim.slug: outcome_text(claim) for claim in claims},
        plot=calibration_plot(profile.calibration),
        crowd=CROWD_HANDLE,
    )
    return render(request, "forecaster.html", context)


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(
    request: Request,
    session: ReadSession,
    ctx: Ctx,
    page: Page,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    seq, digest = head(session)
    query = select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(25)
    if before is not None:
        query = query.where(LedgerEntry.seq < before)
    entries = list(session.exec(query))
    slugs = _slugs(session, {e.claim_id for e in entries if e.claim_id is not None})
    context = dict(
        head_seq=seq,
        head_hash=digest,
        head_at=stamp(entries[0].created_at) if entries and before is None else None,
        entries=[{"entry": e, "claim": slugs.get(e.claim_id or 0)} for e in entries],
        older=entries[-1].seq if entries and entries[-1].seq > 1 else None,
        # never the request's Host: anyone can send any (see docs/decisions.md)
        base_url=ctx.settings.public_url or PLACEHOLDER_URL,
    )
    return render(request, "ledger.html", context)


def _slugs(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Claim.id, Claim.slug).where(col(Claim.id).in_(ids)))
    return {int(claim_id or 0): slug for claim_id, slug in rows}
