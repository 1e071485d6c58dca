"""Closing claims: record the close in the ledger and reveal the salts of its commitments."""

from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import Session

from claims.clock import Clock, stamp
from claims.closing import closed_by, tc
from claims.kinds import EntryKind
from claims.models import Claim
from claims.states import ClaimState
from forecasts.ledger.chain import flush, lock_head
from forecasts.ledger.tables import claims_t, entries_t, forecasts_t, salts_t
from forecasts.notify.events import EventName
from forecasts.notify.reports import claim_event


def due_claims(conn: Connection, now: datetime) -> list[int]:
    """Claims whose close has come and is not yet in the ledger."""
    closed = closed_by(claims_t.c.closes_at, claims_t.c.closed_early_at, now)
    query = select(claims_t.c.id).where(
        claims_t.c.close_recorded_seq.is_(None), claims_t.c.state != ClaimState.DRAFT, closed
    )
    return list(conn.execute(query).scalars())


def record_close(conn: Connection, claim_id: int, now: datetime) -> int | None:
    """Append `claim_closed` with the reveal, once; returns its seq, or None if already done.

    Runs in the caller's write transaction; the ledger lock taken first serialises this with
    every other append, so two workers cannot both record the same close.
    """
    chain = lock_head(conn)
    claim = conn.execute(
        select(
            claims_t.c.slug,
            claims_t.c.closes_at,
            claims_t.c.closed_early_at,
            claims_t.c.close_recorded_seq,
        ).where(claims_t.c.id == claim_id)
    ).one()
    if claim.close_recorded_seq is not None:
        return None
    closed_at = tc(claim.closes_at, claim.closed_early_at)
    # a reopened claim (proposals.reopen_claim) closes again: reveal what is new
    revealed_up_to = conn.execute(
        select(func.max(entries_t.c.seq)).where(
            entries_t.c.claim_id == claim_id, entries_t.c.kind == EntryKind.CLAIM_CLOSED
        )
    ).scalar()
    reveals = [
        {"seq": int(row.ledger_seq), "salt": row.salt}
        for row in conn.execute(
            select(salts_t.c.ledger_seq, salts_t.c.salt)
            .join(forecasts_t, forecasts_t.c.ledger_seq == salts_t.c.ledger_seq)
            .where(
                forecasts_t.c.claim_id == claim_id,
                forecasts_t.c.ledger_seq > (revealed_up_to or 0),
            )
            .order_by(salts_t.c.ledger_seq)
        )
    ]
    payload = {"claim": claim.slug, "closed_at": stamp(closed_at), "reveals": reveals}
    row = chain.add_public(EntryKind.CLAIM_CLOSED, now, payload, claim_id)

    flush(conn, chain)
    conn.execute(
        update(claims_t).where(claims_t.c.id == claim_id).values(close_recorded_seq=row["seq"])
    )
    return int(row["seq"])


def close_claim(session: Session, claim: Claim, now: datetime) -> int | None:
    """`record_close` and its `claim.closed` event, in the session's transaction."""
    assert claim.id is not None
    seq = record_close(session.connection(), claim.id, now)
    if seq is not None:
        claim.close_recorded_seq = seq
        session.add(claim)
        claim_event(session, EventName.CLAIM_CLOSED, claim, now=now, ledger_seq=seq)
    return seq


def close_due_claims(engine: Engine, clock: Clock) -> int:
    """The scheduler's close job: record every due close; returns how many it recorded."""
    with engine.connect() as conn:
        due = due_claims(conn, clock())
    done = 0
    for claim_id in due:
        with Session(engine) as session:
            claim = session.get(Claim, claim_id)
            assert claim is not None
            done += close_claim(session, claim, clock()) is not None
            session.commit()
    return done
