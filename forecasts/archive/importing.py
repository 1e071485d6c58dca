"""History from elsewhere: forecasts imported into claims that are not open, already revealed."""

from datetime import datetime
from typing import Any

import sqlalchemy
from pydantic import ConfigDict
from sqlalchemy import Connection, delete
from sqlmodel import Session, col, select

from claims.clock import as_utc
from claims.errors import Conflict, Invalid
from claims.kinds import EntryKind
from claims.lifecycle import accepts_forecasts, effective_close
from claims.models import Claim
from claims.outcome_space import space_of
from claims.states import ClaimKind, ClaimState
from claims.text import Handle, Slug, UTCTime
from forecasts.claimants.records import refresh_claim
from forecasts.ledger.chain import commitment_body, flush, lock_head
from forecasts.ledger.models import Account
from forecasts.ledger.tables import forecasts_t, standings_t, stats_t
from forecasts.notify.reports import scored_accounts, scored_events
from forecasts.scores.claim_scores import replace_claim_scores
from forecasts.submit.schemas import ForecastIn
from forecasts.submit.shapes import Stored, stored_form, wrong_shape


class ImportedForecast(ForecastIn):
    """A forecast body of the claim's kind (SPEC §7) with its claim, author and time."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    claim: Slug
    handle: Handle
    created_at: UTCTime
    rationale: None = None  # imports carry none: their entries are public at once


def import_forecasts(session: Session, rows: list[ImportedForecast], *, now: datetime) -> list[int]:
    """Validate every row, then append them all in one transaction; returns their seqs."""
    slugs = {row.claim for row in rows}
    claims = {c.slug: c for c in session.exec(select(Claim).where(col(Claim.slug).in_(slugs)))}
    handles = {row.handle for row in rows}
    accounts = {
        a.handle: a for a in session.exec(select(Account).where(col(Account.handle).in_(handles)))
    }
    stored: list[Stored | None] = []
    for index, row in enumerate(rows):
        claim = claims.get(row.claim)
        if claim is None or claim.state == ClaimState.DRAFT:
            raise Invalid([index, "claim"], f"no published claim with slug {row.claim!r}")
        if accepts_forecasts(claim, now):
            raise Conflict(f"claim {row.claim!r} is open: import only into claims that are not")
        if row.handle not in accounts:
            raise Invalid([index, "handle"], f"no account with handle {row.handle!r}")
        at = as_utc(row.created_at)
        if not claim.opens_at <= at < effective_close(claim) or at > now:
            raise Invalid(
                [index, "created_at"], "must lie inside the claim's window and in the past"
            )
        stored.append(_stored(claim, row, index))
    conn = session.connection()
    chain = lock_head(conn)
    forecast_rows: list[dict[str, Any]] = []
    for row, kept in zip(rows, stored, strict=True):
        claim, account = claims[row.claim], accounts[row.handle]
        at = as_utc(row.created_at)
        shape = kept.shape if kept else None
        payload = commitment_body(row.claim, row.handle, row.value, at, version=1, shape=shape)
        entry = chain.add_public(EntryKind.FORECAST_IMPORTED, now, payload, claim.id)
        forecast_rows.append(
            {
                "id": entry["seq"],
                "claim_id": claim.id,
                "account_id": account.id,
                "probability": row.value,
                "distribution": kept.distribution if kept else None,
                "quantiles": kept.quantiles if kept else None,
                "rationale": None,
                "created_at": at,
                "ledger_seq": entry["seq"],
                "imported": True,
            }
        )
    seqs = [int(r["seq"]) for r in chain.rows]
    flush(conn, chain)
    if forecast_rows:
        conn.execute(forecasts_t.insert(), forecast_rows)
    for claim_id in {r["claim_id"] for r in forecast_rows}:
        rebuild_standings(conn, claim_id, chain.seq)
    last_seq = {r["claim_id"]: r["ledger_seq"] for r in forecast_rows}
    for claim in {claims[row.claim].slug: claims[row.claim] for row in rows}.values():
        if claim.state == ClaimState.RESOLVED:
            assert claim.id is not None
            had_rows = scored_accounts(session, claim.id)
            replace_claim_scores(session, claim, now=now)  # scores are derived from the record
            refresh_claim(session, claim)  # and so is the consensus of its claimant's side
            seq = last_seq[claim.id]
            scored_events(session, claim, now=now, ledger_seq=seq, had_rows=had_rows)
    session.commit()
    return seqs


def _stored(claim: Claim, row: ImportedForecast, index: int) -> Stored | None:
    """The row's body in its stored form, or `Invalid` naming the row's field."""
    values = row.values()
    try:
        if values is not None:
            return stored_form(claim.kind, space_of(claim), *values)
        if claim.kind != ClaimKind.BINARY:
            raise wrong_shape(claim.kind, "probability")
    except Invalid as error:
        loc = error.detail[0]["loc"]  # type: ignore[index]
        raise Invalid([index, *loc[1:]], error.detail[0]["msg"]) from None  # type: ignore[index]
    return None


def rebuild_standings(conn: Connection, claim_id: int, last_seq: int) -> None:
    """Recompute a claim's standings and stats from its forecasts (derived data)."""
    rows = conn.execute(
        sqlalchemy.select(
            forecasts_t.c.id,
            forecasts_t.c.account_id,
            forecasts_t.c.probability,
            forecasts_t.c.distribution,
            forecasts_t.c.created_at,
            forecasts_t.c.ledger_seq,
        )
        .where(forecasts_t.c.claim_id == claim_id)
        .order_by(forecasts_t.c.created_at, forecasts_t.c.ledger_seq)
    ).all()
    latest: dict[int, Any] = {}
    market, market_distribution = None, None
    for row in rows:
        latest[row.account_id] = row
        if row.probability is not None or row.distribution is not None:
            market, market_distribution = row.probability, row.distribution
    conn.execute(delete(standings_t).where(standings_t.c.claim_id == claim_id))
    conn.execute(delete(stats_t).where(stats_t.c.claim_id == claim_id))
    if latest:
        conn.execute(
            standings_t.insert(),
            [
                {
                    "claim_id": claim_id,
                    "account_id": account_id,
                    "forecast_id": row.id,
                    "probability": row.probability,
                    "distribution": row.distribution,
                    "at": row.created_at,
                    "ledger_seq": row.ledger_seq,
                }
                for account_id, row in latest.items()
            ],
        )
    standing = sum(
        1 for row in latest.values() if row.probability is not None or row.distribution is not None
    )
    conn.execute(
        stats_t.insert().values(
            claim_id=claim_id,
            market=market,
            market_distribution=market_distribution,
            forecasters=standing,
            last_seq=last_seq,
        )
    )
