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

import numpy as np
from sqlalchemy import Connection, delete, select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from claims.lifecycle import effective_close
from claims.models import Claim
from claims.states import ClaimKind, ClaimState
from forecasts.ledger.driver import micros, micros_of
from forecasts.ledger.packing import unpack
from forecasts.ledger.tables import (
    accounts_t,
    claimants_t,
    claims_t,
    consensus_t,
    forecasts_t,
    records_t,
)
from forecasts.score_math.consensus import (
    Counted,
    figures,
    mean_crowds,
    option_timeline,
    side,
    step_means,
)
from forecasts.scores.claim_scores import claim_events
from forecasts.scores.claim_windows import ClaimWindow, claim_batch
from forecasts.scores.rescore import read_batches


def refresh_claim(session: Session, claim: Claim, previous_claimant: str | None = None) -> None:
    """The claim's consensus again, and the records of the claimant it cites and of the one it
    cited before (`previous_claimant`); in the caller's transaction, which commits."""
    assert claim.id is not None
    conn = session.connection()
    conn.execute(delete(consensus_t).where(consensus_t.c.claim_id == claim.id))
    if _counted(claim.state, claim.source) and claim.claimant is not None:
        value = _consensus(conn, claim)
        conn.execute(consensus_t.insert().values(claim_id=claim.id, consensus=value))
    for slug in sorted({s for s in (claim.claimant, previous_claimant) if s is not None}):
        refresh_record(conn, slug)


def _counted(state: str, source: dict[str, Any] | None) -> bool:
    """Resolved, and citing a claimant on a side: binary and multiple choice (the kinds that
    take a stance)."""
    return state == ClaimState.RESOLVED and bool(source) and "stance" in (source or {})


def _window(claim: Claim) -> ClaimWindow:
    assert claim.id is not None
    return ClaimWindow(  # the outcome plays no part in the crowd: any will do
        claim.id, claim.opens_at, claim.closes_at, effective_close(claim), claim.resolves_at, 0
    )


def _asserts(claim: Claim) -> bool:
    return (claim.source or {}).get("stance") == "asserts"


def _consensus(conn: Connection, claim: Claim) -> float | None:
    """One claim's consensus, from its own forecasts."""
    assert claim.id is not None
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        return _option_consensus(conn, claim)
    events, _ = claim_events(conn, claim.id)
    rank = {handle: i for i, handle in enumerate(sorted({e.handle for e in events}))}
    batch = claim_batch(
        [_window(claim)],
        [len(events)],
        [rank[e.handle] for e in events],
        [e.at for e in events],
        [e.seq for e in events],
        [e.probability for e in events],
    )
    return side(float(mean_crowds(batch)[0]), asserts=_asserts(claim))


def _option_consensus(conn: Connection, claim: Claim) -> float | None:
    assert claim.id is not None
    options, named = claim.options or [], (claim.source or {}).get("option")
    if named not in options:  # the source is checked against the options; a safety net
        return None
    option = options.index(named)
    window = _window(claim)
    steps = option_timeline(_distributions(conn, claim.id), option, closed_at=window.closed_at)
    mean = step_means(
        micros_of([at for at, _ in steps]),
        np.array([np.nan if value is None else value for _, value in steps], dtype=np.float64),
        np.array([0, len(steps)], dtype=np.int64),
        np.array([micros(window.opens_at)], dtype=np.int64),
        np.array([micros(window.closed_at)], dtype=np.int64),
    )
    return side(float(mean[0]), asserts=_asserts(claim))


def _consensus_of_all(conn: Connection, claims: list[Claim]) -> dict[int, float | None]:
    """The consensus of many claims, their forecasts read in one scan."""
    binary = sorted((c for c in claims if c.kind != ClaimKind.MULTIPLE_CHOICE), key=_id)
    found = {
        _id(claim): _consensus(conn, claim)
        for claim in claims
        if claim.kind == ClaimKind.MULTIPLE_CHOICE
    }
    accounts = conn.execute(select(accounts_t.c.handle, accounts_t.c.id)).all()
    forecasters = sorted((str(handle), int(account)) for handle, account in accounts)
    by_id = {_id(claim): claim for claim in binary}
    for windows, batch in read_batches(conn, [_window(claim) for claim in binary], forecasters):
        for window, mean in zip(windows, mean_crowds(batch).tolist(), strict=True):
            found[window.id] = side(mean, asserts=_asserts(by_id[window.id]))
    return found


def _id(claim: Claim) -> int:
    assert claim.id is not None
    return claim.id


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
    _write_records(conn, [slug])


def _write_records(conn: Connection, slugs: list[str] | None) -> int:
    """Rewrite the records of these claimants (None: of every claimant); returns how many."""
    claimants = select(claimants_t.c.id, claimants_t.c.slug)
    claimed = claims_t.c.claimant.is_not(None)
    if slugs is not None:
        claimants = claimants.where(claimants_t.c.slug.in_(slugs))
        claimed = claims_t.c.claimant.in_(slugs)
    ids = dict(conn.execute(claimants).all())
    # by the claimant index alone: a claimant's claims are few, resolved ones many
    query = (
        select(claims_t.c.claimant, claims_t.c.state, claims_t.c.outcome, claims_t.c.source)
        .add_columns(consensus_t.c.consensus)
        .outerjoin(consensus_t, consensus_t.c.claim_id == claims_t.c.id)
        .where(claimed)
    )
    counted: dict[str, list[Counted]] = {slug: [] for slug in ids.values()}
    for slug, state, outcome, source, agreed in conn.execute(query):
        if slug in counted and _counted(state, source):
            counted[slug].append(
                Counted(
                    hit=hit_of(source, outcome),
                    consensus=agreed,
                    stated_probability=source.get("stated_probability"),
                    happened=_happened(source, outcome),
                )
            )
    rows = []
    for claimant_id, slug in ids.items():
        result = figures(counted[slug])
        rows.append(
            {
                "claimant_id": claimant_id,
                "claims_resolved": result.claims_resolved,
                "hit_rate": result.hit_rate,
                "mean_consensus": result.mean_consensus,
                "yield_": result.yield_,
                "brier": result.brier,
            }
        )
    if rows:
        conn.execute(delete(records_t).where(records_t.c.claimant_id.in_(list(ids))))
        conn.execute(records_t.insert(), rows)
    return len(rows)


def rebuild_records(session: Session) -> int:
    """Every consensus and record again from the record (restore, rescore); in the caller's
    transaction. Returns the claimants rewritten."""
    conn = session.connection()
    conn.execute(delete(consensus_t))
    claims = session.exec(
        select_rows(Claim).where(
            col(Claim.state) == ClaimState.RESOLVED, col(Claim.claimant).is_not(None)
        )
    ).all()
    counted = [claim for claim in claims if _counted(claim.state, claim.source)]
    rows = [
        {"claim_id": claim_id, "consensus": value}
        for claim_id, value in _consensus_of_all(conn, counted).items()
    ]
    if rows:
        conn.execute(consensus_t.insert(), rows)
    return _write_records(conn, None)
