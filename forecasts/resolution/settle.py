"""Resolve, re-resolve and annul a claim: status, ledger, scores and totals in one transaction.

SPEC §4: no reader ever sees a resolved claim without its scores, or scores on an annulled
one. So `settle_claim` changes the claim, records the close (if it is not yet in the ledger)
and the resolution, replaces the claim's Score rows, moves the forecasters' totals and the
track record of the claimant it cites (SPEC §8), and commits all of it at once.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, get_args

from sqlmodel import Session

from claims.clock import as_utc, stamp
from claims.errors import Conflict, Invalid
from claims.kinds import EntryKind
from claims.lifecycle import effective_close
from claims.models import Claim
from claims.outcome_space import check_outcome, recorded_outcome, space_of
from claims.states import SETTLED_STATES, ClaimState
from claims.transitions import early_close, settled
from forecasts.claimants.records import refresh_claim
from forecasts.ledger.chain import record
from forecasts.notify.events import EventName
from forecasts.notify.reports import claim_event, scored_accounts, scored_events
from forecasts.resolution.reveal import close_claim
from forecasts.scores.claim_scores import replace_claim_scores

Outcome = Literal["yes", "no", "annulled", "ambiguous"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


def settle_claim(
    session: Session,
    claim: Claim,
    outcome: Any,
    *,
    now: datetime,
    closed_at: datetime | None = None,
    note: str | None = None,
    by: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Claim:
    """Settle `claim` as `outcome` (first resolution, re-resolution or annulment); commits.

    - `closed_at`: when the claim was in fact settled, for one settled before its scheduled
      close (`opens_at <= closed_at <= min(now, closes_at)`, else `Invalid`); it becomes Tc and
      forecasts from then on are ignored. Without it a claim keeps its close, and one that is
      still open is a `Conflict`.
    - `note`, `by` (the editor's handle; None for the automatic finaliser) and `extra` (more
      fields, e.g. the proposal's seq) go into the ledger entry's payload.

    The ledger gets `claim_closed` with the reveal first if the close is not there yet, then
    `resolution_finalised` (first settlement), `re_resolved` (a settled claim settled again)
    or `annulled` (whenever the outcome is annulled). Resolved claims (yes/no) are scored
    from all their forecasts, withdrawals and imported ones included; annulled and ambiguous
    claims have no scores. A draft is a `Conflict`. Issue 5's finaliser calls this too.
    Other kinds (SPEC §7) take a label, a number or an ISO time (`check_outcome`).
    """
    token, value = check_outcome(claim.kind, space_of(claim), outcome)
    session.flush()  # the caller's pending changes first, then re-read under the lock
    session.refresh(claim, with_for_update=True)  # the state may have moved meanwhile
    assert claim.id is not None
    if claim.state == ClaimState.DRAFT:
        raise Conflict("a draft cannot be settled; publish it first")
    previous = claim.state if claim.state in SETTLED_STATES else None
    previous_outcome = recorded_outcome(claim.kind, claim.outcome, claim.outcome_value)
    if closed_at is not None:
        _close_at(claim, as_utc(closed_at), now)
    elif now < effective_close(claim):
        raise Conflict("the claim is still open: give closed_at to settle it before its close")
    claim.sqlmodel_update(settled(token, value))
    claim.updated_at = now
    session.add(claim)
    session.flush()
    if claim.close_recorded_seq is None:
        close_claim(session, claim, now)
    payload: dict[str, Any] = {
        "claim": claim.slug,
        "outcome": recorded_outcome(claim.kind, token, value),
        "closed_at": stamp(effective_close(claim)),
        "note": note,
        "by": by,
    }
    if previous is not None:
        payload["previous"] = previous_outcome if previous == ClaimState.RESOLVED else previous
    payload.update(extra or {})
    kind = _entry_kind(token, settled_before=previous is not None)
    seq = record(session, kind, now, payload, claim.id)
    had_rows = scored_accounts(session, claim.id)
    replace_claim_scores(session, claim, now=now)
    refresh_claim(session, claim)  # the claimant's record moves with the outcome (SPEC §8)
    void = token in ("annulled", "ambiguous")
    name = EventName.CLAIM_ANNULLED if void else EventName.CLAIM_RESOLVED
    claim_event(
        session,
        name,
        claim,
        now=now,
        ledger_seq=seq,
        outcome=payload["outcome"],
        previous=payload.get("previous"),
    )
    scored_events(session, claim, now=now, ledger_seq=seq, had_rows=had_rows)
    session.commit()
    session.refresh(claim)
    return claim


def _entry_kind(outcome: str, *, settled_before: bool) -> EntryKind:
    if outcome == "annulled":
        return EntryKind.ANNULLED
    return EntryKind.RE_RESOLVED if settled_before else EntryKind.RESOLUTION_FINALISED


def _close_at(claim: Claim, closed_at: datetime, now: datetime) -> None:
    if closed_at > now:
        raise Invalid("closed_at", "must not be in the future")
    if not claim.opens_at <= closed_at <= claim.closes_at:
        raise Invalid("closed_at", "must lie between the claim's opens_at and closes_at")
    claim.closed_early_at = early_close(closed_at, claim.closes_at)
