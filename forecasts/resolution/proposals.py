"""What happens to a proposed outcome: disputed by a forecaster, finalised after its window.

Each function owns its transaction and changes a proposal only by a conditional UPDATE from
the state it expects, so a dispute and the finalise job racing for the same proposal cannot
both win.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from claims.clock import stamp
from claims.errors import Conflict, Forbidden
from claims.kinds import EntryKind
from claims.lifecycle import get_claim
from claims.models import Claim, Proposal, RuleRun
from claims.outcome_space import recorded_outcome
from claims.states import SETTLED_STATES, ClaimState, ProposalState
from claims.transitions import reopened
from forecasts.ledger.chain import record
from forecasts.ledger.models import Standing
from forecasts.notify.events import EventName
from forecasts.notify.reports import claim_event
from forecasts.resolution.settle import settle_claim
from forecasts.submit.probabilities import standing_now

proposals_t = Proposal.__table__  # type: ignore[attr-defined]
QUEUE_AFTER_FAILURES = 3

# Proposal states


def _move(session: Session, proposal_id: int, source: str, target: str, **values: object) -> bool:
    """Move a proposal from `source` to `target` state; False if it was not in `source`."""
    moved = session.connection().execute(
        update(proposals_t)
        .where(proposals_t.c.id == proposal_id, proposals_t.c.state == source)
        .values(state=target, **values)
    )
    return bool(moved.rowcount == 1)


def open_proposal(session: Session, claim_id: int) -> Proposal | None:
    """The claim's proposal still in its challenge window, if any."""
    return session.exec(
        select(Proposal)
        .where(Proposal.claim_id == claim_id, Proposal.state == ProposalState.PROPOSED)
        .order_by(col(Proposal.id).desc())
    ).first()


def pending_proposal(session: Session, claim_id: int) -> Proposal | None:
    """The claim's latest proposal still waiting for a decision: proposed or disputed."""
    return session.exec(
        select(Proposal)
        .where(
            Proposal.claim_id == claim_id,
            col(Proposal.state).in_((ProposalState.PROPOSED, ProposalState.DISPUTED)),
        )
        .order_by(col(Proposal.id).desc())
    ).first()


def dispute_proposal(
    session: Session, slug: str, *, account_id: int, handle: str, note: str | None, now: datetime
) -> Proposal:
    """A forecaster disputes a proposed outcome: it goes to the editors instead; commits.

    Only an account with a standing forecast on the claim (one the outcome will score) may
    (403 otherwise). The first dispute sends the proposal to the editors, so a second one,
    from anyone, is a 409: each forecaster disputes at most once.
    """
    claim = get_claim(session, slug)
    assert claim.id is not None
    proposal = open_proposal(session, claim.id) if claim.state == ClaimState.PROPOSED else None
    if proposal is None or proposal.id is None:
        raise Conflict("only a proposed outcome in its challenge window can be disputed")
    forecast = session.exec(
        select(Standing.forecast_id).where(
            Standing.claim_id == claim.id,
            Standing.account_id == account_id,
            standing_now(),
        )
    ).first()
    if forecast is None:
        raise Forbidden("only forecasters with a forecast on this claim may dispute its outcome")
    if not _move(
        session,
        proposal.id,
        ProposalState.PROPOSED,
        ProposalState.DISPUTED,
        decided_at=now,
        note=note,
    ):
        session.rollback()
        raise Conflict("the proposal was settled meanwhile")
    payload = {
        "claim": claim.slug,
        "outcome": recorded_outcome(claim.kind, proposal.outcome, proposal.outcome_value),
        "proposal_seq": proposal.ledger_seq,
        "handle": handle,
        "note": note,
    }
    record(session, EntryKind.RESOLUTION_DISPUTED, now, payload, claim.id)
    session.commit()
    session.refresh(proposal)
    return proposal


def finalise_proposal(session: Session, proposal_id: int, *, now: datetime) -> bool:
    """Make an undisputed proposal final once its window has passed; commits.

    The claim is settled by `settle_claim` (status, ledger entry and scores in the same
    transaction as the proposal's move). Returns False when there was nothing to finalise:
    changing nothing, or marking the proposal overridden when an editor has settled the claim
    meanwhile.
    """
    proposal = session.get(Proposal, proposal_id)
    if (
        proposal is None
        or proposal.state != ProposalState.PROPOSED
        or proposal.challenge_ends_at > now
    ):
        return False
    claim = session.get(Claim, proposal.claim_id, with_for_update=True)
    assert claim is not None and claim.id is not None
    if claim.state != ClaimState.PROPOSED:
        _move(
            session, proposal_id, ProposalState.PROPOSED, ProposalState.OVERRIDDEN, decided_at=now
        )
        session.commit()
        return False
    if not _move(
        session, proposal_id, ProposalState.PROPOSED, ProposalState.FINALISED, decided_at=now
    ):
        session.rollback()
        return False
    outcome = recorded_outcome(claim.kind, proposal.outcome, proposal.outcome_value)
    settle_claim(session, claim, outcome, now=now, extra={"proposal_seq": proposal.ledger_seq})
    return True


def reopen_claim(
    session: Session, slug: str, *, by: str, by_id: int, note: str | None, now: datetime
) -> Claim:
    """An editor rejects an early proposal: the claim reopens until `closes_at`; commits.

    SPEC §5. Only a proposal that closed the claim early (an early yes, in its challenge
    window or disputed) can be rejected this way, and only before the scheduled close: any
    other proposal is overridden by resolving by hand. The claim takes forecasts again,
    `claim_reopened` goes into the ledger, and its rules no longer decide early until an
    editor changes the claim (see `early_decisions_paused`). What the early close revealed
    stays revealed: the ledger cannot take it back. The next close reveals only the
    commitments made since (`forecasts.resolution.reveal.record_close`).
    """
    found = get_claim(session, slug)
    claim = session.get(Claim, found.id, with_for_update=True, populate_existing=True)
    assert claim is not None and claim.id is not None
    if claim.state != ClaimState.PROPOSED:
        raise Conflict("only a claim with a proposed outcome can be reopened")
    proposal = pending_proposal(session, claim.id)
    if proposal is None or proposal.id is None:
        raise Conflict("the claim has no proposal waiting for a decision")
    if not proposal.closes_early:
        raise Conflict("only an early proposal reopens the claim; resolve it by hand instead")
    if now >= claim.closes_at:
        raise Conflict("the claim's scheduled close has passed; resolve it by hand instead")
    if not _move(
        session,
        proposal.id,
        proposal.state,
        ProposalState.REJECTED,
        decided_at=now,
        decided_by=by_id,
        note=note,
    ):
        session.rollback()
        raise Conflict("the proposal was settled meanwhile")
    claim.sqlmodel_update(reopened())
    claim.updated_at = now
    session.add(claim)
    session.flush()
    payload = {
        "claim": claim.slug,
        "proposal_seq": proposal.ledger_seq,
        "closes_at": stamp(claim.closes_at),
        "by": by,
        "note": note,
    }
    seq = record(session, EntryKind.CLAIM_REOPENED, now, payload, claim.id)
    claim_event(session, EventName.CLAIM_REOPENED, claim, now=now, ledger_seq=seq)
    session.commit()
    session.refresh(claim)
    return claim


def early_decisions_paused(session: Session, claim: Claim) -> bool:
    """Whether an editor rejected an early proposal of the claim since it was last changed.

    Without this, rules that still say yes would close the claim again at the next poll.
    Any change to the claim (say, a fixed rule) moves `updated_at` past the rejection.
    """
    rejected = session.exec(
        select(Proposal.id).where(
            Proposal.claim_id == claim.id,
            Proposal.state == ProposalState.REJECTED,
            col(Proposal.decided_at) >= claim.updated_at,
        )
    ).first()
    return rejected is not None


def sweep_overridden(session: Session, *, now: datetime) -> int:
    """Proposals of claims an editor has settled by hand become `overridden`; commits."""
    settled = select(Claim.id).where(col(Claim.state).in_(SETTLED_STATES))
    moved = session.connection().execute(
        update(proposals_t)
        .where(
            proposals_t.c.state.in_((ProposalState.PROPOSED, ProposalState.DISPUTED)),
            proposals_t.c.claim_id.in_(settled),
        )
        .values(state=ProposalState.OVERRIDDEN, decided_at=now)
    )
    session.commit()
    return int(moved.rowcount or 0)


@dataclass(frozen=True)
class QueueItem:
    """One thing for editors to look at."""

    kind: str  # proposal, dispute, failing or conflict
    claim: str
    title: str
    since: datetime
    outcome: str | None = None
    challenge_ends_at: datetime | None = None
    failures: int = 0
    error: str | None = None


def editors_queue(session: Session) -> list[QueueItem]:
    """Proposals in their window, disputes, rules failing again and again, and conflicts."""
    items: list[QueueItem] = []
    proposals = session.exec(
        select(Proposal, Claim)
        .join(Claim, col(Claim.id) == Proposal.claim_id)
        .where(
            col(Proposal.state).in_((ProposalState.PROPOSED, ProposalState.DISPUTED)),
            Claim.state == ClaimState.PROPOSED,
        )
        .order_by(col(Proposal.proposed_at))
    )
    for proposal, claim in proposals:
        kind = "dispute" if proposal.state == ProposalState.DISPUTED else "proposal"
        since = proposal.decided_at if kind == "dispute" and proposal.decided_at else None
        items.append(
            QueueItem(
                kind=kind,
                claim=claim.slug,
                title=claim.title,
                since=since or proposal.proposed_at,
                outcome=proposal.outcome,
                challenge_ends_at=proposal.challenge_ends_at,
                error=proposal.note if kind == "dispute" else None,
            )
        )
    runs = session.exec(
        select(RuleRun, Claim)
        .join(Claim, col(Claim.id) == RuleRun.claim_id)
        .where(
            col(Claim.state).not_in((ClaimState.PROPOSED, *SETTLED_STATES)),
            (col(RuleRun.failures) >= QUEUE_AFTER_FAILURES) | (RuleRun.last_outcome == "conflict"),
        )
        .order_by(col(RuleRun.last_run_at))
    )
    for run, claim in runs:
        failing = run.failures >= QUEUE_AFTER_FAILURES
        items.append(
            QueueItem(
                kind="failing" if failing else "conflict",
                claim=claim.slug,
                title=claim.title,
                since=run.last_run_at or claim.resolves_at,
                failures=run.failures,
                error=run.last_error,
            )
        )
    return items
