"""Reading claimants and their records: the sorted list, one claimant with its claims."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import and_, func, select
from sqlmodel import Session

from claims.claimants import ClaimantNotFound
from claims.lifecycle import status_at
from claims.models import Claim, Claimant
from claims.outcome_space import recorded_outcome
from claims.states import ClaimKind, ClaimState
from forecasts.claimants.records import hit_of
from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import ClaimantRecord, ClaimConsensus
from forecasts.ledger.packing import unpack
from forecasts.ledger.tables import claimants_t, claims_t, records_t, standings_t
from forecasts.score_math.distributions import mc_crowd
from forecasts.submit.probabilities import Probabilities, claims_probabilities

Metric = Literal["claims_resolved", "yield", "hit_rate"]
METRICS: tuple[str, ...] = get_args(Metric)
_SORT_KEYS = {
    "claims_resolved": func.coalesce(records_t.c.claims_resolved, 0),
    "yield": records_t.c.yield_,
    "hit_rate": records_t.c.hit_rate,
}
OPEN_STATES = frozenset({ClaimState.PUBLISHED, ClaimState.CLOSED, ClaimState.PROPOSED})
VOID_STATES = frozenset({ClaimState.ANNULLED, ClaimState.AMBIGUOUS})
ProbabilityCache = LRUCache[tuple[int, int], Probabilities]


@dataclass(frozen=True)
class ClaimantRow:
    """A claimant's fields and figures (SPEC §8)."""

    slug: str
    name: str
    kind: str
    url: str | None
    description: str
    claims_resolved: int
    claims_open: int
    claims_void: int
    hit_rate: float | None
    mean_consensus: float | None
    yield_: float | None
    brier: float | None


@dataclass(frozen=True)
class CitedClaim:
    """One of a claimant's claims as its record lists it."""

    claim: str
    title: str
    kind: str
    status: str
    stance: str | None
    option: str | None
    stated_probability: float | None
    quote: str | None
    url: str | None
    published_at: str | None
    outcome: str | float | None  # yes/no, a label, a number or an ISO time, as the API shows
    hit: bool | None
    crowd: float | None  # the crowd's probability of the claimant's side now
    consensus: float | None


@dataclass(frozen=True)
class ClaimantDetail:
    row: ClaimantRow
    claims: list[CitedClaim]


def _row(claimant: Any, record: Any, counts: dict[str, int]) -> ClaimantRow:
    return ClaimantRow(
        slug=claimant.slug,
        name=claimant.name,
        kind=claimant.kind,
        url=claimant.url,
        description=claimant.description,
        claims_resolved=0 if record is None else int(record.claims_resolved),
        claims_open=counts.get("open", 0),
        claims_void=counts.get("void", 0),
        hit_rate=None if record is None else record.hit_rate,
        mean_consensus=None if record is None else record.mean_consensus,
        yield_=None if record is None else record.yield_,
        brier=None if record is None else record.brier,
    )


def _bucket(state: str) -> str | None:
    return "open" if state in OPEN_STATES else "void" if state in VOID_STATES else None


def list_claimants(
    session: Session, *, metric: str, min_claims: int, offset: int, limit: int
) -> tuple[list[ClaimantRow], bool]:
    """A page of claimants, descending by `metric` (nulls last, ties by slug), with at least
    `min_claims` resolved claims, and whether more follow: two queries for the page."""
    key = _SORT_KEYS[metric]
    rows = (
        session.connection()
        .execute(
            select(claimants_t, records_t)
            .outerjoin(records_t, records_t.c.claimant_id == claimants_t.c.id)
            .where(func.coalesce(records_t.c.claims_resolved, 0) >= min_claims)
            .order_by(key.desc().nulls_last(), claimants_t.c.slug)
            .offset(offset)
            .limit(limit + 1)
        )
        .all()
    )
    page = rows[:limit]
    counts = _counts(session, [row.slug for row in page])
    found = [
        _row(row, row if row.claimant_id is not None else None, counts.get(row.slug, {}))
        for row in page
    ]
    return found, len(rows) > limit


def _counts(session: Session, slugs: Sequence[str]) -> dict[str, dict[str, int]]:
    """Open and void claims of each claimant (by the stored state: the clock plays no part)."""
    found: dict[str, dict[str, int]] = {}
    if not slugs:
        return found
    query = (
        select(claims_t.c.claimant, claims_t.c.state, func.count())
        .where(claims_t.c.claimant.in_(slugs))
        .group_by(claims_t.c.claimant, claims_t.c.state)
    )
    for slug, state, count in session.connection().execute(query):
        bucket = _bucket(state)
        if bucket is not None:
            mine = found.setdefault(slug, {})
            mine[bucket] = mine.get(bucket, 0) + int(count)
    return found


def claimant_detail(
    session: Session, slug: str, *, now: datetime, cache: ProbabilityCache | None = None
) -> ClaimantDetail:
    """The claimant, its figures and its published claims, newest `resolves_at` first.

    The figures and the claims' outcomes come from one statement, so they agree even on
    PostgreSQL, where each statement of a read sees the newest commit.
    """
    query = (
        select(Claimant, ClaimantRecord, Claim, ClaimConsensus)
        .outerjoin(ClaimantRecord, ClaimantRecord.claimant_id == Claimant.id)  # type: ignore[arg-type]
        .outerjoin(
            Claim,
            and_(Claim.claimant == Claimant.slug, Claim.state != ClaimState.DRAFT),  # type: ignore[arg-type]
        )
        .outerjoin(ClaimConsensus, ClaimConsensus.claim_id == Claim.id)  # type: ignore[arg-type]
        .where(Claimant.slug == slug)  # type: ignore[arg-type]
        .order_by(Claim.resolves_at.desc(), Claim.id.desc())  # type: ignore[union-attr,attr-defined]
    )
    rows = session.execute(query).all()
    if not rows:
        raise ClaimantNotFound(slug)
    claimant, record = rows[0][0], rows[0][1]
    claims = [(claim, agreed) for _, _, claim, agreed in rows if claim is not None]
    probabilities = claims_probabilities(session, [c.id for c, _ in claims if c.id], cache)
    choices = _option_crowds(
        session, [c.id for c, _ in claims if c.id and c.kind == ClaimKind.MULTIPLE_CHOICE]
    )
    counts: dict[str, int] = {}
    for claim, _ in claims:
        bucket = _bucket(claim.state)
        if bucket is not None:
            counts[bucket] = counts.get(bucket, 0) + 1
    cited = [
        _cited(claim, agreed, _crowd_now(claim, probabilities, choices), now)
        for claim, agreed in claims
        if claim.id is not None
    ]
    return ClaimantDetail(_row(claimant, record, counts), cited)


def _option_crowds(session: Session, claim_ids: Sequence[int]) -> dict[int, list[float] | None]:
    """The multiple-choice crowd now (SPEC §7) of each claim, from its standing forecasts."""
    standing: dict[int, list[list[float]]] = {claim_id: [] for claim_id in claim_ids}
    if claim_ids:
        query = (
            select(standings_t.c.claim_id, standings_t.c.distribution)
            .where(standings_t.c.claim_id.in_(claim_ids), standings_t.c.distribution.is_not(None))
            .order_by(standings_t.c.at, standings_t.c.ledger_seq)
        )
        for claim_id, data in session.connection().execute(query):
            standing[claim_id].append(unpack(data).tolist())
    return {claim_id: mc_crowd(values) for claim_id, values in standing.items()}


def _crowd_now(
    claim: Claim,
    probabilities: dict[int, Probabilities],
    choices: dict[int, list[float] | None],
) -> float | None:
    """The crowd's probability of yes, or of the claimant's option."""
    assert claim.id is not None
    if claim.kind != ClaimKind.MULTIPLE_CHOICE:
        return probabilities[claim.id].crowd
    crowd, option = choices.get(claim.id), (claim.source or {}).get("option")
    if crowd is None or option not in (claim.options or []):
        return None
    return crowd[(claim.options or []).index(option)]


def _cited(
    claim: Claim, agreed: ClaimConsensus | None, crowd: float | None, now: datetime
) -> CitedClaim:
    source = claim.source or {}
    stance = source.get("stance")
    resolved = claim.state == ClaimState.RESOLVED and stance is not None
    return CitedClaim(
        claim=claim.slug,
        title=claim.title,
        kind=claim.kind,
        status=status_at(claim, now),
        stance=stance,
        option=source.get("option"),
        stated_probability=source.get("stated_probability"),
        quote=source.get("quote"),
        url=source.get("url"),
        published_at=source.get("published_at"),
        outcome=recorded_outcome(claim.kind, claim.outcome, claim.outcome_value),
        hit=hit_of(source, claim.outcome) if resolved else None,
        crowd=_side(source, crowd),
        consensus=None if agreed is None or not resolved else agreed.consensus,
    )


def _side(source: dict[str, Any], crowd: float | None) -> float | None:
    """The crowd's probability of the claimant's side, from its probability of yes (or of
    the option)."""
    stance = source.get("stance")
    if crowd is None or stance is None:
        return None
    return crowd if stance == "asserts" else 1 - crowd
