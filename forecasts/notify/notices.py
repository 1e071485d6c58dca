"""The scheduler's events (SPEC §9): `claim.closing_soon` and `crowd.moved`, each sent once.

Each is claimed by a conditional write (an insert that a second worker's finds done, an
update that a second worker's finds moved) in the transaction that emits the event, so
several workers send each notice exactly once. Nothing here runs on the submission path.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from claims.clock import Clock, stamp
from claims.closing import closed_by
from claims.models import Claim
from claims.states import ClaimState
from forecasts.notify.events import EventName, emit
from forecasts.notify.models import CrowdBaseline, closing_notices_t, crowd_baselines_t
from forecasts.notify.moves import change, crowd_now, first_crowd, shown
from forecasts.notify.reports import claim_event
from forecasts.submit.probabilities import claims_probabilities

CROWD_QUIET = timedelta(seconds=3600)  # at least this long between two notices of a claim


def _open_claims(now: datetime) -> Any:
    c = Claim
    return select(c).where(
        c.state == ClaimState.PUBLISHED,
        col(c.opens_at) <= now,
        ~closed_by(col(c.closes_at), col(c.closed_early_at), now),
    )


def _insert_once(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """Insert the row unless its key is there already; whether this call inserted it."""
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING rather than rowcount, which psycopg does not report for a skipped insert
    key = next(iter(table.primary_key))
    return session.connection().execute(statement.returning(key)).first() is not None


def send_closing_soon(
    engine: Engine, clock: Clock, window: timedelta, *, read_engine: Engine | None = None
) -> int:
    """`claim.closing_soon` for open claims within `window` of `closes_at`, once per claim
    and `closes_at` value (a claim closed early is no longer open: nothing). The search
    reads through `read_engine`: only a notice to send takes the write lock."""
    now = clock()
    with Session(read_engine or engine) as session:
        query = _open_claims(now).where(col(Claim.closes_at) <= now + window)
        due = [(claim.id, claim.closes_at) for claim in session.exec(query)]
    sent = 0
    for claim_id, closes_at in due:
        with Session(engine) as session:
            notice = {"claim_id": claim_id, "closes_at": closes_at}
            if _insert_once(session, closing_notices_t, notice):
                claim = session.get(Claim, claim_id)
                assert claim is not None
                claim_event(session, EventName.CLAIM_CLOSING_SOON, claim, now=now, ledger_seq=None)
                sent += 1
            session.commit()
    return sent


def send_crowd_moves(
    engine: Engine, clock: Clock, threshold: float, *, read_engine: Engine | None = None
) -> int:
    """`crowd.moved` for each open claim whose crowd is `threshold` or more from its baseline
    (at first the claim's first crowd, however long ago) and whose last notice is an hour
    old; the crowd then becomes the baseline. As for
    `send_closing_soon`, only a write to make takes the write lock."""
    now = clock()
    with Session(read_engine or engine) as session:
        claims = {claim.id: claim for claim in session.exec(_open_claims(now))}
        ids = [claim_id for claim_id in claims if claim_id is not None]
        crowds = claims_probabilities(session, ids)
        baselines = {
            row.claim_id: row
            for row in session.exec(
                select(CrowdBaseline).where(col(CrowdBaseline.claim_id).in_(ids))
            )
        }
    sent = 0
    for claim_id in ids:
        crowd = crowd_now(claims[claim_id], crowds[claim_id])
        if crowd is None:
            continue
        baseline = baselines.get(claim_id)
        if baseline is not None and not _moved(claims[claim_id], baseline, crowd, threshold, now):
            continue
        with Session(engine) as session:
            claim = session.get(Claim, claim_id)
            assert claim is not None
            if baseline is None:  # the first look: the claim's first crowd, moved from since?
                baseline = _first_baseline(session, claim, now)
                if baseline is None or not _moved(claim, baseline, crowd, threshold, now):
                    session.commit()
                    continue
            sent += _notice(session, claim, baseline, crowd, crowds[claim_id].forecasters, now)
            session.commit()
    return sent


def _first_baseline(session: Session, claim: Claim, now: datetime) -> CrowdBaseline | None:
    """Record the claim's first crowd as its baseline; None if another worker did first."""
    assert claim.id is not None
    row = {"claim_id": claim.id, "crowd": first_crowd(session, claim), "updated_at": now}
    return CrowdBaseline(**row) if _insert_once(session, crowd_baselines_t, row) else None


def _moved(
    claim: Claim, baseline: CrowdBaseline, crowd: Any, threshold: float, now: datetime
) -> bool:
    quiet = baseline.noticed_at is None or now - baseline.noticed_at >= CROWD_QUIET
    return quiet and change(claim, baseline.crowd, crowd) >= threshold


def _notice(
    session: Session,
    claim: Claim,
    baseline: CrowdBaseline,
    crowd: Any,
    forecasters: int,
    now: datetime,
) -> int:
    """Move the baseline if no other worker did meanwhile, and emit; 1 if this one did."""
    b = crowd_baselines_t.c
    moved = session.connection().execute(
        update(crowd_baselines_t)
        .where(b.claim_id == claim.id, b.updated_at == baseline.updated_at)
        .values(crowd=crowd, noticed_at=now, updated_at=now)
    )
    if moved.rowcount != 1:
        return 0
    data = {
        "claim": claim.slug,
        "kind": claim.kind,
        "crowd": shown(claim, crowd),
        "previous": shown(claim, baseline.crowd),
        "change": change(claim, baseline.crowd, crowd),
        "forecasters": forecasters,
        "at": stamp(now),
    }
    emit(session, EventName.CROWD_MOVED, data, at=now, claim_id=claim.id)
    return 1
