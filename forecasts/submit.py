"""Submit and withdraw: window, idempotency, standings and the ledger, many at a time.

Every request is appended by `append_batch`, which handles a whole batch of requests in one
transaction that holds the ledger's append lock (group commit). A request is acknowledged
only after that transaction commits, so "acknowledged" still means "stored", while one
fsync serves many requests.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from claims.clock import stamp
from claims.errors import ClaimClosed, Conflict, DomainError, NotFound
from claims.models import PUBLISHED, Claim
from forecasts.ledger import (
    commitment_body,
    commitment_hash,
    flush,
    lock_head,
    new_salt,
)
from forecasts.models import (
    ApiToken,
    ClaimStats,
    CommitmentSalt,
    Forecast,
    IdempotencyRecord,
    Standing,
)

claims_t: Table = Claim.__table__  # type: ignore[attr-defined]
forecasts_t: Table = Forecast.__table__  # type: ignore[attr-defined]
salts_t: Table = CommitmentSalt.__table__  # type: ignore[attr-defined]
idem_t: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
standings_t: Table = Standing.__table__  # type: ignore[attr-defined]
stats_t: Table = ClaimStats.__table__  # type: ignore[attr-defined]
tokens_t: Table = ApiToken.__table__  # type: ignore[attr-defined]


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

    @property
    def is_withdrawal(self) -> bool:
        return self.probability is None


@dataclass(frozen=True)
class Accepted:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Replayed:
    status: int
    body: str


Outcome = Accepted | Replayed | DomainError


def forecast_view(
    forecast_id: int,
    slug: str,
    handle: str,
    probability: float | None,
    rationale: str | None,
    at: datetime,
    seq: int,
) -> dict[str, Any]:
    """The API's shape of a forecast or withdrawal (SPEC §6)."""
    if probability is None:
        return {
            "id": forecast_id,
            "claim": slug,
            "handle": handle,
            "withdrawn_at": stamp(at),
            "ledger_seq": seq,
        }
    return {
        "id": forecast_id,
        "claim": slug,
        "handle": handle,
        "probability": probability,
        "rationale": rationale,
        "created_at": stamp(at),
        "ledger_seq": seq,
    }


@dataclass
class _ClaimRow:
    id: int
    state: str
    opens_at: datetime
    closes_at: datetime
    closed_early_at: datetime | None

    def refusal(self, slug: str, now: datetime) -> str:
        """Why a forecast is refused now, and when (if ever) the claim takes them."""
        if self.state != PUBLISHED:
            return f"claim {slug!r} is not open for forecasts: it is {self.state}"
        return (
            f"claim {slug!r} is not open for forecasts at {stamp(now)}: it takes them from "
            f"{stamp(self.opens_at)} until {stamp(self._close())}"
        )

    def _close(self) -> datetime:
        if self.closed_early_at is not None and self.closed_early_at < self.closes_at:
            return self.closed_early_at
        return self.closes_at

    def accepts(self, now: datetime) -> bool:
        return self.state == PUBLISHED and self.opens_at <= now < self._close()


class _Batch:
    """What one batch reads up front, and the rows it will write."""

    def __init__(self, conn: Connection, requests: Sequence[SubmitRequest]) -> None:
        self.conn = conn
        slugs = {r.slug for r in requests}
        self.claims: dict[str, _ClaimRow] = {}
        for row in conn.execute(
            select(
                claims_t.c.slug,
                claims_t.c.id,
                claims_t.c.state,
                claims_t.c.opens_at,
                claims_t.c.closes_at,
                claims_t.c.closed_early_at,
            ).where(claims_t.c.slug.in_(slugs))
        ):
            self.claims[row.slug] = _ClaimRow(
                row.id, row.state, row.opens_at, row.closes_at, row.closed_early_at
            )
        claim_ids = [c.id for c in self.claims.values()]
        accounts = {r.account_id for r in requests}
        self.standing: dict[tuple[int, int], float | None] = {}
        if claim_ids:
            for held in conn.execute(
                select(
                    standings_t.c.claim_id, standings_t.c.account_id, standings_t.c.probability
                ).where(
                    standings_t.c.claim_id.in_(claim_ids), standings_t.c.account_id.in_(accounts)
                )
            ):
                self.standing[(held.claim_id, held.account_id)] = held.probability
        self.stats: dict[int, list[Any]] = {
            row.claim_id: [row.market, row.forecasters]
            for row in conn.execute(
                select(stats_t.c.claim_id, stats_t.c.market, stats_t.c.forecasters).where(
                    stats_t.c.claim_id.in_(claim_ids)
                )
            )
        }
        self.new_stats: set[int] = set(claim_ids) - self.stats.keys()
        keyed = [(r.account_id, r.idempotency_key) for r in requests if r.idempotency_key]
        self.idempotent: dict[tuple[int, str], tuple[str, int, str]] = {}
        if keyed:
            for seen in conn.execute(
                select(
                    idem_t.c.account_id,
                    idem_t.c.key,
                    idem_t.c.request_hash,
                    idem_t.c.status_code,
                    idem_t.c.body,
                ).where(tuple_(idem_t.c.account_id, idem_t.c.key).in_(keyed))
            ):
                self.idempotent[(seen.account_id, seen.key)] = (
                    seen.request_hash,
                    seen.status_code,
                    seen.body,
                )
        hashes = {r.token_hash for r in requests if r.token_hash}
        self.live_tokens: set[str] = set()
        if hashes:
            self.live_tokens = set(
                conn.execute(
                    select(tokens_t.c.token_hash).where(
                        tokens_t.c.token_hash.in_(hashes), tokens_t.c.revoked_at.is_(None)
                    )
                ).scalars()
            )
        self.forecast_rows: list[dict[str, Any]] = []
        self.salt_rows: list[dict[str, Any]] = []
        self.idem_rows: list[dict[str, Any]] = []
        self.standing_rows: dict[tuple[int, int], dict[str, Any]] = {}


def append_batch(
    conn: Connection, requests: Sequence[SubmitRequest], clock: Callable[[], datetime]
) -> list[Outcome]:
    """Append a batch of submissions and withdrawals in the caller's transaction.

    The caller commits (and only then acknowledges). Each request is stamped and checked
    against its claim's window at its own moment, in order.
    """
    chain = lock_head(conn)
    batch = _Batch(conn, requests)
    outcomes: list[Outcome] = []
    last = None
    for request in requests:
        now = clock()
        if last is not None and now < last:
            now = last  # stamps never go backwards along the chain
        last = now
        outcomes.append(_append_one(batch, chain, request, now))
    _write(batch, chain)
    return outcomes


def _append_one(batch: _Batch, chain: Any, request: SubmitRequest, now: datetime) -> Outcome:
    if request.token_hash is not None and request.token_hash not in batch.live_tokens:
        return TokenRevoked("the token was revoked")
    if request.idempotency_key:
        seen = batch.idempotent.get((request.account_id, request.idempotency_key))
        if seen is not None:
            request_hash, status, text = seen
            if request_hash != request.request_hash:
                return Conflict("this Idempotency-Key was used with a different request")
            return Replayed(status, text)
    claim = batch.claims.get(request.slug)
    if claim is None:
        return NotFound(f"no claim with slug {request.slug!r}")
    if not claim.accepts(now):
        return ClaimClosed(claim.refusal(request.slug, now))
    pair = (claim.id, request.account_id)
    standing = batch.standing.get(pair)
    if request.is_withdrawal and standing is None:
        return Conflict("nothing is standing to withdraw")
    kind = "forecast_withdrawn" if request.is_withdrawal else "forecast_submitted"
    salt = new_salt()
    body = commitment_body(request.slug, request.handle, request.probability, now)
    row = chain.add(kind, now, commitment_hash(body, salt), payload=None, claim_id=claim.id)
    seq = int(row["seq"])
    rationale = None if request.is_withdrawal else request.rationale
    batch.forecast_rows.append(
        {
            "id": seq,
            "claim_id": claim.id,
            "account_id": request.account_id,
            "probability": request.probability,
            "rationale": rationale,
            "created_at": now,
            "ledger_seq": seq,
            "imported": False,
        }
    )
    batch.salt_rows.append({"ledger_seq": seq, "salt": salt})
    batch.standing[pair] = request.probability
    batch.standing_rows[pair] = {
        "claim_id": claim.id,
        "account_id": request.account_id,
        "forecast_id": seq,
        "probability": request.probability,
        "at": now,
        "ledger_seq": seq,
    }
    stats = batch.stats.setdefault(claim.id, [None, 0])
    stats[1] += (standing is None) - request.is_withdrawal
    if not request.is_withdrawal:
        stats[0] = request.probability
    view = forecast_view(
        seq, request.slug, request.handle, request.probability, rationale, now, seq
    )
    if request.idempotency_key:
        text = json.dumps(view)
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
    return Accepted(201, view)


def _write(batch: _Batch, chain: Any) -> None:
    conn = batch.conn
    if not chain.rows:
        return
    flush(conn, chain)
    conn.execute(forecasts_t.insert(), batch.forecast_rows)
    conn.execute(salts_t.insert(), batch.salt_rows)
    if batch.idem_rows:
        conn.execute(idem_t.insert(), batch.idem_rows)
    upsert(conn, standings_t, list(batch.standing_rows.values()), ["claim_id", "account_id"])
    inserts, updates = [], []
    for claim_id in {row["claim_id"] for row in batch.forecast_rows}:
        market, count = batch.stats[claim_id]
        values = {"market": market, "forecasters": count, "last_seq": chain.seq}
        if claim_id in batch.new_stats:
            inserts.append({"claim_id": claim_id, **values})
            batch.new_stats.discard(claim_id)
        else:
            updates.append({"stats_claim": claim_id, **values})
    if inserts:
        conn.execute(stats_t.insert(), inserts)
    if updates:
        conn.execute(_UPDATE_STATS, updates)


_UPDATE_STATS = (
    update(stats_t)
    .where(stats_t.c.claim_id == bindparam("stats_claim"))
    .values(
        market=bindparam("market"),
        forecasters=bindparam("forecasters"),
        last_seq=bindparam("last_seq"),
    )
)


def upsert(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike."""
    if rows:
        conn.execute(_upsert_statement(conn.dialect.name, table, tuple(rows[0]), tuple(keys)), rows)


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect_name: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]
) -> Any:
    # built once per shape: constructing `excluded` is costly on the group-commit hot path
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    changed = {c: statement.excluded[c] for c in columns if c not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


def has_forecasts(conn: Connection, claim_id: int) -> bool:
    row = conn.execute(select(forecasts_t.c.id).where(forecasts_t.c.claim_id == claim_id).limit(1))
    return row.first() is not None
