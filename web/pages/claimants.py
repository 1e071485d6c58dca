"""Claimants' pages: the table of track records, and one claimant with its claims."""

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from claims.models import Claim
from forecasts.claimants.reading import METRICS, CitedClaim, claimant_detail, list_claimants
from forecasts.submit.history import probability_histories
from web.deps import Ctx, ReadSession
from web.pages.charts import history_chart
from web.pages.kind_view import quantity_of
from web.pages.rendering import render
from web.pages.routing import page_router
from web.pages.session import Page

router = page_router()
_PER_PAGE = 200
METRIC_LABELS = {
    "claims_resolved": "Claims resolved",
    "yield": "Yield",
    "hit_rate": "Hit rate",
}


@router.get("/claimants", response_class=HTMLResponse)
def claimants_page(
    request: Request,
    session: ReadSession,
    page: Page,
    metric: Annotated[str, Query(max_length=40)] = "claims_resolved",
    min_claims: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Who made the claims, and how their claims turned out."""
    if metric not in METRICS:
        metric = "claims_resolved"
    rows, more = list_claimants(
        session, metric=metric, min_claims=min_claims, offset=0, limit=_PER_PAGE
    )
    context = dict(
        rows=rows, more=more, metric=metric, metrics=METRIC_LABELS, min_claims=min_claims
    )
    return render(request, "claimants.html", context)


@router.get("/claimants/{slug}", response_class=HTMLResponse)
def claimant_page(
    request: Request, slug: str, session: ReadSession, ctx: Ctx, page: Page
) -> Response:
    """A claimant's record and claims, each with the crowd over time beside what they said."""
    now = ctx.clock()
    detail = claimant_detail(session, slug, now=now, cache=ctx.crowd_cache)
    slugs = [cited.claim for cited in detail.claims]
    claims = {c.slug: c for c in session.exec(select(Claim).where(col(Claim.slug).in_(slugs)))}
    ids = [claim.id for claim in claims.values() if claim.id is not None]
    histories = probability_histories(session, ids, ctx.history_cache)
    entries = []
    for cited in detail.claims:
        claim = claims[cited.claim]
        assert claim.id is not None
        end = min(now, max(claim.opens_at, claim.closed_early_at or claim.closes_at))
        chart = None
        if claim.kind != "multiple_choice":
            chart = history_chart(
                histories.get(claim.id, []), start=claim.opens_at, end=end, said=_said(cited)
            )
        entries.append((cited, {"cited": cited, "chart": chart, "outcome": _outcome(claim)}))
    void = {"annulled", "ambiguous"}
    context: dict[str, Any] = dict(
        claimant=detail.row,
        entries=[entry for cited, entry in entries if cited.status not in void],
        void=[entry for cited, entry in entries if cited.status in void],
    )
    return render(request, "claimant.html", context)


def _outcome(claim: Claim) -> str | None:
    """The outcome in words: a label, or a number or date as the claim's page writes it."""
    quantity = quantity_of(claim)
    if quantity is not None and claim.outcome_value is not None:
        return quantity.text(claim.outcome_value)
    return claim.outcome


def _said(cited: CitedClaim) -> float | None:
    """What the claimant said, as a probability of yes: the stated one, else all or nothing."""
    if cited.stance is None:
        return None
    if cited.stated_probability is not None:
        return cited.stated_probability
    return 1.0 if cited.stance == "asserts" else 0.0
