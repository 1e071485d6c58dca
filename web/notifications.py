"""The API's shapes handed down to the outbox (forecasts.notify.reports.Presenter).

Events carry the anonymous view of `GET /claims/{slug}` (no caller, so no `my_forecast`),
a proposal as `GET .../proposal` shows it and a row of `GET .../scores`: the API's own view
functions, so an event can never show more than a reader without a token sees.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from claims.lifecycle import tags_of
from claims.models import Claim, Proposal
from forecasts.notify.reports import present_with
from forecasts.submit.probabilities import claims_probabilities
from web.api.resolution import proposal_out
from web.api.scores import score_view
from web.api.views import claim_out


class ApiShapes:
    """The Presenter of the running app; `public_url` is FORECAST_LEDGER_PUBLIC_URL."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url

    def claim(self, session: Session, claim: Claim, now: datetime) -> dict[str, Any]:
        assert claim.id is not None
        probabilities = claims_probabilities(session, [claim.id])[claim.id]
        view = claim_out(claim, tags_of(session, claim.id), probabilities, now, None)
        return view.model_dump(mode="json")

    def proposal(self, claim: Claim, proposal: Proposal) -> dict[str, Any]:
        return proposal_out(claim, proposal).model_dump(mode="json")

    def score(self, handle: str, figures: Mapping[str, float | None]) -> dict[str, Any]:
        return score_view(handle, figures)

    def url(self, slug: str) -> str | None:
        return f"{self.public_url}/claims/{slug}" if self.public_url else None


def install(public_url: str) -> None:
    """Write events in the API's shapes, with page links under `public_url` (if set)."""
    present_with(ApiShapes(public_url))


install("")  # until an app or command says otherwise: events never fail for want of shapes
