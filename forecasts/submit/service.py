"""Submit and withdraw: window, idempotency, standings and the ledger, many at a time.

Every request is appended by `append_batch`, which handles a whole batch of requests in one
transaction that holds the ledger's append lock (group commit). A request is acknowledged
only after that transaction commits, so "acknowledged" still means "stored", while one
fsync serves many requests.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_

from claims.clock import stamp
from claims.closing import tc
from claims.errors import ClaimClosed, ClaimNotFound, Conflict, DomainError, Invalid
from claims.kinds import EntryKind
from claims.states import ClaimKind, ClaimState
from forecasts.ledger.chain import (
    PAYLOAD_VERSION,
    Chain,
    commitment_body,
    commitment_hash,
    lock_head,
)
from forecasts.ledger.tables import forecasts_t, idem_t
from forecasts.submit.batchsql import BatchSQL, ClaimRow
from forecasts.submit.shapes import Stored, stored_form, wrong_shape

# How long an Idempotency-Key's answer is kept: a retry after that is a fresh request.
IDEMPOTENCY_TTL = timedelta(hours=24)


class TokenRevoked(DomainError):
    """The token was revoked after the request was authenticated (401)."""


@dataclass(frozen=True)
class SubmitRequest:
    """One submission (probability set) or withdrawal (probability None)."""

    account_id: int
    handle: str
    slug: str
    probability: float | None
    rationale: str | None = None
    idempotency_key: str | None = None
    request_hash: str = ""
    token_hash: str | None = None
    sees_drafts: bool = False  # an editor's: to anyone else a draft is an unknown slug
    # another kind's body as (field, value): ("probabilities", {...}), ("cdf", [...]) or
    # ("quantiles", [...]), made into its stored form against the claim when appended
    values: tuple[str, Any] | None = None

    @property
    def is_withdrawal(self) -> bool:
        return self.probability is None and self.values is None


@dataclass(frozen=True)
class ForecastRecord:
    """A stored forecast (probability set) or withdrawal (None); web/api/views.py shapes it."""

    id: int
    claim: str
    handle: str
    probability: float | None
    rationale: str | None
    at: datetime | str  # as stored, or already stamped
    ledger_seq: int
    # another kind's distribution: {"probabilities": …} or {"cdf": …}, with quantiles if given
    shape: dict[str, Any] | None = None
    quantiles: list[Any] | None = None


@dataclass(frozen=True)
class Accepted:
    status: int
    record: ForecastRecord


# The answer an Idempotency-Key replays, as the web sends it first: the API's shape (SPEC §6).
Answer = Callable[[ForecastRecord], str]


@dataclass(frozen=True)
class Replayed:
    status: int
    body: str


Outcome = Accepted | Replayed | DomainError


def _refusal(claim: ClaimRow, slug: str, now: datetime) -> str:
    """Why a forecast is refused now, and when (if ever) the claim takes them."""
    if claim.state != ClaimState.PUBLISHED:
        return f"claim {slug!r} is not open for forecasts: it is {claim.state}"
    return (
        f"claim {slug!r} is not open for forecasts at {stamp(now)}: it takes them from "
        f"{stamp(claim.opens_at)} until {stamp(_close(claim))}"
    )


def _close(claim: ClaimRow) -> datetime:
    return tc(claim.closes_at, claim.closed_early_at)


def _accepts(claim: ClaimRow, now: datetime) -> bool:
    return claim.state == ClaimState.PUBLISHED and claim.opens_at <= now < _close(claim)


class _Batch:
    """What one batch reads up front, and the rows it will write."""

    def __init__(
        self,
        conn: Connection,
        requests: Sequence[SubmitRequest],
        live_tokens: dict[str, int],
        expired: datetime,
    ) -> None:
        self.conn = conn
        self.sql = sql = BatchSQL.for_connection(conn)
        self.live_tokens = live_tokens
        slugs = sorted({r.slug for r in requests})
        self.claims, self.standing = sql.read(conn, slugs, sorted({r.account_id for r in requests}))
        # [market, forecasters] by claim id, as they stand after the batch's requests so far
        self.stats: dict[int, list[Any]] = {
            c.id: [c.market, c.market_distribution, c.forecasters] for c in self.claims.values()
        }
        keyed = [(r.account_id, r.idempotency_key) for r in requests if r.idempotency_key]
        self.idempotent = _kept_answers(conn, keyed, expired) if keyed else {}
        salts = os.urandom(16 * len(requests)).hex()
        self.salts = [salts[32 * k : 32 * k + 32] for k in range(len(requests))]
        self.forecast_rows: list[tuple[Any, ...]] = []
        self.salt_rows: list[tuple[int, str]] = []
        self.idem_rows: list[dict[str, Any]] = []
        self.standing_rows: dict[tuple[int, int], tuple[Any, ...]] = {}
        self.touched: dict[int, None] = {}  # claim ids written, in order


def _kept_answers(
    conn: Connection, keyed: list[tuple[int, str]], expired: datetime
) -> dict[tuple[int, str], tuple[str, int, str]]:
    """The stored answers of these (account, key) pairs: request hash, status, body.

    An answer stored at or before `expired` is deleted instead (its key makes a fresh
    request); that is rare, so the common batch costs no extra statement.
    """
    kept: dict[tuple[int, str], tuple[str, int, str]] = {}
    stale = []
    pairs = tuple_(idem_t.c.account_id, idem_t.c.key)
    columns = (idem_t.c.request_hash, idem_t.c.status_code, idem_t.c.body, idem_t.c.created_at)
    for seen in conn.execute(
        select(idem_t.c.account_id, idem_t.c.key, *columns).where(pairs.in_(keyed))
    ):
        pair = (seen.account_id, seen.key)
        if seen.created_at <= expired:
            stale.append(pair)
        else:
            kept[pair] = (seen.request_hash, seen.status_code, seen.body)
    if stale:
        conn.execute(delete(idem_t).where(pairs.in_(stale)))
    return kept


def append_batch(
    conn: Connection,
    requests: Sequence[SubmitRequest],
    clock: Callable[[], datetime],
    key_ttl: timedelta = IDEMPOTENCY_TTL,
    *,
    answer: Answer,
) -> list[Outcome]:
    """Append a batch of submissions and withdrawals in the caller's transaction.

    The caller commits (and only then acknowledges). Each request is stamped and checked
    against its claim's window at its own moment, in order. An Idempotency-Key's answer is
    replayed for `key_ttl` (the text `answer` gives); after that the key makes a fresh request.
    """
    hashes = sorted({r.token_hash for r in requests if r.token_hash})
    head, live_tokens = BatchSQL.for_connection(conn).lock_head(conn, hashes)
    chain = lock_head(conn) if head is None else Chain(head[0], head[1], [])
    batch = _Batch(conn, requests, live_tokens, clock() - key_ttl)
    outcomes: list[Outcome] = []
    last = None
    for k, request in enumerate(requests):
        now = clock()
        if last is not None and now < last:
            now = last  # stamps never go backwards along the chain
        last = now
        outcomes.append(_append_one(batch, chain, request, now, batch.salts[k], answer))
    _write(batch, chain)
    return outcomes


def _append_one(
    batch: _Batch, chain: Chain, request: SubmitRequest, now: datetime, salt: str, answer: Answer
) -> Outcome:
    owner = batch.live_tokens.get(request.token_hash) if request.token_hash else None
    if request.token_hash is not None and owner != request.account_id:
        return TokenRevoked("the token was revoked")
    if request.idempotency_key:
        seen = batch.idempotent.get((request.account_id, request.idempotency_key))
        if seen is not None:
            request_hash, status, text = seen
            if request_hash != request.request_hash:
                return Conflict("this Idempotency-Key was used with a different request")
            return Replayed(status, text)
    claim = batch.claims.get(request.slug)
    if claim is None or (claim.state == ClaimState.DRAFT and not request.sees_drafts):
        return ClaimNotFound(request.slug)
    if not _accepts(claim, now):
        return ClaimClosed(_refusal(claim, request.slug, now))
    pair = (claim.id, request.account_id)
    standing = batch.standing.get(pair)
    if request.is_withdrawal and standing is None:
        return Conflict("nothing is standing to withdraw")
    try:
        stored = _stored(claim, request)
    except Invalid as error:
        return error
    kind = EntryKind.FORECAST_WITHDRAWN if request.is_withdrawal else EntryKind.FORECAST_SUBMITTED
    stamped = stamp(now)
    rationale = None if request.is_withdrawal else request.rationale
    shape = stored.shape if stored else None
    body = commitment_body(
        request.slug, request.handle, request.probability, stamped, rationale, shape=shape
    )
    digest = commitment_hash(body, salt)
    row = chain.add(
        kind, now, digest, payload=None, claim_id=claim.id, stamped=stamped, version=PAYLOAD_VERSION
    )
    seq = int(row["seq"])
    at = batch.sql.to_db(now)
    packed = stored.distribution if stored else None
    quantiles = stored.quantiles if stored else None
    quantiles_text = batch.sql.to_json(quantiles)
    batch.forecast_rows.append(
        (
            seq,
            claim.id,
            request.account_id,
            request.probability,
            rationale,
            at,
            seq,
            False,
            packed,
            quantiles_text,
        )
    )
    batch.salt_rows.append((seq, salt))
    batch.standing[pair] = None if request.is_withdrawal else 1.0
    batch.standing_rows[pair] = (
        claim.id,
        request.account_id,
        seq,
        request.probability,
        packed,
        at,
        seq,
    )
    batch.touched[claim.id] = None
    stats = batch.stats[claim.id]
    stats[2] += (standing is None) - request.is_withdrawal
    if not request.is_withdrawal:
        stats[0], stats[1] = request.probability, packed
    record = ForecastRecord(
        seq, request.slug, request.handle, request.probability, rationale, stamped, seq
    )
    if stored is not None:
        record = replace(record, shape=stored.shape, quantiles=stored.quantiles)
    if request.idempotency_key:
        text = answer(record)  # as first sent
        batch.idem_rows.append(
            {
                "account_id": request.account_id,
                "key": request.idempotency_key,
                "request_hash": request.request_hash,
                "status_code": 201,
                "body": text,
                "created_at": now,
            }
        )
        batch.idempotent[(request.account_id, request.idempotency_key)] = (
            request.request_hash,
            201,
            text,
        )
    return Accepted(201, record)


def _stored(claim: ClaimRow, request: SubmitRequest) -> Stored | None:
    """Another kind's body in its stored form; None for a binary forecast or a withdrawal."""
    if request.values is not None:
        return stored_form(claim.kind, claim.space, *request.values)
    if request.probability is not None and claim.kind != ClaimKind.BINARY:
        raise wrong_shape(claim.kind, "probability")
    return None


def _write(batch: _Batch, chain: Chain) -> None:
    if not chain.rows:
        return
    conn, sql = batch.conn, batch.sql
    if batch.idem_rows:
        conn.execute(idem_t.insert(), batch.idem_rows)
    stats = [(c, *batch.stats[c], chain.seq) for c in batch.touched]
    tables = [
        (sql.insert_entries, [_entry(sql, row) for row in chain.rows]),
        (sql.insert_forecasts, batch.forecast_rows),
        (sql.insert_salts, batch.salt_rows),
        (sql.upsert_standings, list(batch.standing_rows.values())),
        (sql.upsert_stats, stats),
    ]
    sql.write(conn, (chain.seq, chain.hash), tables)
    chain.rows = []


def _entry(sql: BatchSQL, row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["seq"],
        row["kind"],
        sql.to_db(row["created_at"]),
        row["payload_hash"],
        row["prev_hash"],
        row["hash"],
        row["payload"],
        row["claim_id"],
        row["payload_version"],
    )


def has_forecasts(conn: Connection, claim_id: int) -> bool:
    row = conn.execute(select(forecasts_t.c.id).where(forecasts_t.c.claim_id == claim_id).limit(1))
    return row.first() is not None
