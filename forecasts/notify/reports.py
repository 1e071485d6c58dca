"""What the claim events say (SPEC §9 `data`), in the shapes the API shows.

The API's view functions live in web/, above this package, so web hands them down once
(`present_with`): each event then carries exactly what a reader without a token would get
from `GET /claims/{slug}` at that moment, and nothing hidden can slip in beside it.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from claims.clock import stamp
from claims.kinds import EntryKind
from claims.lifecycle import effective_close
from claims.models import Claim, Proposal
from claims.outcome_space import recorded_outcome
from forecasts.ledger import chain
from forecasts.ledger.models import Score
from forecasts.ledger.tables import scores_t
from forecasts.notify.events import EventName, emit, emit_many
from forecasts.score_math.scoring import SCORE_FIELDS


class Presenter(Protocol):
    """The API's shapes: the anonymous claim view, a proposal, a row of a claim's scores."""

    def claim(self, session: Session, claim: Claim, now: datetime) -> dict[str, Any]: ...

    def proposal(self, claim: Claim, proposal: Proposal) -> dict[str, Any]: ...

    def score(self, handle: str, figures: Mapping[str, float | None]) -> dict[str, Any]: ...

    def url(self, slug: str) -> str | None: ...


_presenters: list[Presenter] = []


def present_with(presenter: Presenter) -> None:
    """Set the shapes events are written in (web does this once it is imported)."""
    _presenters[:] = [presenter]


def _presenter() -> Presenter:
    if not _presenters:
        raise RuntimeError("no notification presenter: import web.notifications first")
    return _presenters[0]


def claim_view(session: Session, claim: Claim, now: datetime) -> dict[str, Any]:
    """The claim as `GET /claims/{slug}` shows it to a reader without a token."""
    session.flush()
    return _presenter().claim(session, claim, now)


def claim_event(
    session: Session,
    name: EventName,
    claim: Claim,
    *,
    now: datetime,
    ledger_seq: int | None,
    **extra: Any,
) -> int:
    """Emit a `claim.*` event: the claim as the public sees it, its page and the entry."""
    data = {
        "claim": claim_view(session, claim, now),
        "url": _presenter().url(claim.slug),
        "ledger_seq": ledger_seq,
        **extra,
    }
    return emit(session, name, data, at=now, claim_id=claim.id)


def proposal_event(session: Session, claim: Claim, proposal: Proposal, *, now: datetime) -> int:
    """`claim.proposed`, with the proposal as the API shows it."""
    shown = _presenter().proposal(claim, proposal)
    return claim_event(
        session,
        EventName.CLAIM_PROPOSED,
        claim,
        now=now,
        ledger_seq=proposal.ledger_seq,
        proposal=shown,
    )


def scored_accounts(session: Session, claim_id: int) -> list[int]:
    """The accounts with a score row on the claim (read before the rows are replaced)."""
    rows = session.exec(
        select(Score.account_id).where(
            Score.claim_id == claim_id, col(Score.account_id).is_not(None)
        )
    )
    return [int(account_id) for account_id in rows if account_id is not None]


def scored_events(
    session: Session, claim: Claim, *, now: datetime, ledger_seq: int, had_rows: list[int]
) -> None:
    """`forecast.scored` to each forecaster with a row now, only their own row; after an
    annulment (no rows) a null score to each that had one (`had_rows`)."""
    assert claim.id is not None
    present = _presenter()
    s = scores_t.c
    figures = [s[name] for name in SCORE_FIELDS]
    session.flush()  # the rows just written, if any went through the ORM
    rows = session.connection().execute(  # plain rows: a thousand ORM objects took 15 ms
        sa_select(s.account_id, s.handle, *figures).where(
            s.claim_id == claim.id, s.account_id.is_not(None)
        )
    )
    base = {  # the claim by its slug: §9 lists its outcome and close beside it
        "claim": claim.slug,
        "outcome": recorded_outcome(claim.kind, claim.outcome, claim.outcome_value),
        "closed_at": stamp(effective_close(claim)),
    }
    scores: dict[int, dict[str, Any] | None] = {account_id: None for account_id in had_rows}
    found: dict[int, dict[str, Any] | None] = {
        int(account_id): present.score(handle, dict(zip(SCORE_FIELDS, values, strict=True)))
        for account_id, handle, *values in rows
    }
    if found:
        scores = found
    events = [
        (account_id, {**base, "score": score, "ledger_seq": ledger_seq})
        for account_id, score in scores.items()
    ]
    emit_many(session, EventName.FORECAST_SCORED, events, at=now, claim_id=claim.id)


def record(
    session: Session, kind: str, at: datetime, payload: dict[str, Any], claim_id: int | None
) -> int:
    """`chain.record`, and `claim.published` when it records a publication (the
    `lifecycle.Recorder` that web hands to claims/, which cannot emit events itself)."""
    seq = chain.record(session, kind, at, payload, claim_id)
    if kind == EntryKind.CLAIM_PUBLISHED and claim_id is not None:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        claim_event(session, EventName.CLAIM_PUBLISHED, claim, now=at, ledger_seq=seq)
    return seq
