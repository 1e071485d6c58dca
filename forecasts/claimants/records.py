"""Track records (SPEC §8), derived from the record and rewritten in the transaction that
changes them: a resolution, re-resolution or annulment of a claim citing the claimant, a
change of a claim's source, an import into a resolved claim, a restore or a rescore.

Each resolved claim citing a claimant keeps its `consensus` (the crowd's time-averaged
probability of the claimant's side, which needs the claim's forecasts) in `claim_consensus`;
a claimant's figures are then means over those rows and the claims' outcomes, so moving one
claim never re-reads another claim's forecasts.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from claims.lifecycle import effective_close
from claims.models import Claim
from claims.states import ClaimKind, ClaimState
from forecasts.ledger.packing import unpack
from forecasts.ledger.tables import claimants_t, claims_t, consensus_t, forecasts_t, records_t
from forecasts.score_math.consensus import Counted, consensus, figures, option_timeline
from forecasts.score_math.scoring import crowd_timeline
from forecasts.scores.claim_scores import claim_events


def refresh_claim(session: Session, claim: Claim, previous_claimant: str | None = None) -> None:
    """The claim's consensus again, and the records of the claimant it cites and of the one it
    cited before (`previous_claimant`); in the caller's transaction, which commits."""
    assert claim.id is not None
    conn = session.connection()
    conn.execute(delete(consensus_t).where(consensus_t.c.claim_id == claim.id))
    if _counted(claim.state, claim.source) and claim.claimant is not None:
        value = _consensus(conn, claim.id, claim)
        conn.execute(consensus_t.insert().values(claim_id=claim.id, consensus=value))
    for slug in sorted({s for s in (claim.claimant, previous_claimant) if s is not None}):
        refresh_record(conn, slug)


def _counted(state: str, source: dict[str, Any] | None) -> bool:
    """Resolved, and citing a claimant on a side: binary and multiple choice (the kinds that
    take a stance)."""
    return state == ClaimState.RESOLVED and bool(source) and "stance" in (source or {})


def _consensus(conn: Connection, claim_id: int, claim: Claim) -> float | None:
    source = claim.source or {}
    closed_at = effective_close(claim)
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        option = (claim.options or []).index(source["option"])
        timeline = option_timeline(_distributions(conn, claim_id), option, closed_at=closed_at)
    else:
        events, _ = claim_events(conn, claim_id)
        timeline = crowd_timeline(events, closed_at=closed_at)
    asserts = source.get("stance") == "asserts"
    return consensus(timeline, opens_at=claim.opens_at, closed_at=closed_at, asserts=asserts)


def _distributions(
    conn: Connection, claim_id: int
) -> list[tuple[int, datetime, int, list[float] | None]]:
    """A multiple-choice claim's forecasts (None: a withdrawal) as the option timeline reads
    them."""
    rows = conn.execute(
        select(
            forecasts_t.c.account_id,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
            forecasts_t.c.distribution,
        ).where(forecasts_t.c.claim_id == claim_id)
    )
    return [
        (int(owner), at, int(seq), None if data is None else unpack(data).tolist())
        for owner, at, seq, data in rows
    ]


def hit_of(source: dict[str, Any], outcome: str | None) -> bool:
    """o: the claimant asserted what happened, or denied what did not."""
    happened = _happened(source, outcome)
    return happened if source.get("stance") == "asserts" else not happened


def _happened(source: dict[str, Any], outcome: str | None) -> bool:
    """y: the claim resolved yes, or to the claimant's option."""
    option = source.get("option")
    return outcome == option if option is not None else outcome == "yes"


def refresh_record(conn: Connection, slug: str) -> None:
    """Rewrite the claimant's record from its resolved claims and their stored consensus."""
    claimant_id = conn.execute(
        select(claimants_t.c.id).where(claimants_t.c.slug == slug)
    ).scalar_one()
    rows = conn.execute(
        select(claims_t.c.outcome, claims_t.c.source, consensus_t.c.consensus)
        .outerjoin(consensus_t, consensus_t.c.claim_id == claims_t.c.id)
        .where(claims_t.c.claimant == slug, claims_t.c.state == ClaimState.RESOLVED)
    ).all()
    counted = [
        Counted(
            hit=hit_of(source, outcome),
            consensus=consensus,
            stated_probability=source.get("stated_probability"),
            happened=_happened(source, outcome),
        )
        for outcome, source, consensus in rows
        if _counted(ClaimState.RESOLVED, source)
    ]
    result = figures(counted)
    conn.execute(delete(records_t).where(records_t.c.claimant_id == claimant_id))
    conn.execute(
        records_t.insert().values(
            claimant_id=claimant_id,
            claims_resolved=result.claims_resolved,
            hit_rate=result.hit_rate,
            mean_consensus=result.mean_consensus,
            yield_=result.yield_,
            brier=result.brier,
        )
    )


def rebuild_records(session: Session) -> int:
    """Every consensus and record again from the record (restore, rescore); in the caller's
    transaction. Returns the claimants rewritten."""
    conn = session.connection()
    conn.execute(delete(consensus_t))
    conn.execute(delete(records_t))
    claims = session.exec(
        select_rows(Claim).where(
            col(Claim.state) == ClaimState.RESOLVED, col(Claim.claimant).is_not(None)
        )
    ).all()
    for claim in claims:
        assert claim.id is not None
        if _counted(claim.state, claim.source):
            value = _consensus(conn, claim.id, claim)
            conn.execute(consensus_t.insert().values(claim_id=claim.id, consensus=value))
    slugs = conn.execute(select(claimants_t.c.slug).order_by(claimants_t.c.slug)).scalars().all()
    for slug in slugs:
        refresh_record(conn, slug)
    return len(slugs)
