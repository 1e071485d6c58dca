"""What the Atom feeds of SPEC §9 report: public ledger entries about published claims.

Each entry of a feed is one ledger entry. Drafts have none (a draft records nothing in the
ledger) and forecasts are left out, so a feed shows nothing the claim's public page hides.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from claims.claimants import ClaimantNotFound
from claims.kinds import EntryKind
from claims.lifecycle import tags_by_claim
from claims.models import Claim, Claimant, ClaimTag
from claims.states import ClaimState
from forecasts.ledger.models import LedgerEntry

FEED_SIZE = 50
FORECAST_KINDS = (
    EntryKind.FORECAST_SUBMITTED,
    EntryKind.FORECAST_WITHDRAWN,
    EntryKind.FORECAST_IMPORTED,
)
RESOLUTION_KINDS = (EntryKind.RESOLUTION_FINALISED, EntryKind.RE_RESOLVED, EntryKind.ANNULLED)


@dataclass(frozen=True)
class FeedEntry:
    """One ledger entry as a feed reports it, with its claim's current title and tags."""

    seq: int
    kind: str
    at: datetime
    hash: str
    slug: str
    title: str
    tags: list[str]
    facts: dict[str, Any]  # outcome, previous, note, closes_at, reveals: what readers may see


def entry_uuid(entry_hash: str) -> str:
    """`urn:uuid:` + UUIDv5(NAMESPACE_URL, "forecast-ledger:" + hash): the same on every host."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'forecast-ledger:' + entry_hash)}"


def _entries() -> Select[LedgerEntry, Claim]:
    return (
        select(LedgerEntry, Claim)
        .join(Claim, col(Claim.id) == LedgerEntry.claim_id)
        .where(Claim.state != ClaimState.DRAFT)
        .order_by(col(LedgerEntry.seq).desc())
        .limit(FEED_SIZE)
    )


def published_claims(session: Session, tag: str | None = None) -> list[FeedEntry]:
    """The newest claims published (optionally those tagged `tag`), one entry each."""
    query = _entries().where(LedgerEntry.kind == EntryKind.CLAIM_PUBLISHED)
    if tag is not None:
        query = query.join(ClaimTag, col(ClaimTag.claim_id) == Claim.id).where(ClaimTag.tag == tag)
    return _feed_entries(session, query)


def resolutions(session: Session) -> list[FeedEntry]:
    """The newest settlements: finalised, re-resolved and annulled."""
    return _feed_entries(session, _entries().where(col(LedgerEntry.kind).in_(RESOLUTION_KINDS)))


def claim_entries(session: Session, claim_id: int) -> list[FeedEntry]:
    """A claim's newest public entries, forecasts left out."""
    query = _entries().where(
        LedgerEntry.claim_id == claim_id, col(LedgerEntry.kind).not_in(FORECAST_KINDS)
    )
    return _feed_entries(session, query)


def claimant_entries(session: Session, slug: str) -> list[FeedEntry]:
    """The newest public entries, forecasts left out, of the claims citing the claimant."""
    if session.exec(select(Claimant.id).where(Claimant.slug == slug)).first() is None:
        raise ClaimantNotFound(slug)
    query = _entries().where(Claim.claimant == slug, col(LedgerEntry.kind).not_in(FORECAST_KINDS))
    return _feed_entries(session, query)


def _feed_entries(session: Session, query: Select[LedgerEntry, Claim]) -> list[FeedEntry]:
    rows: Sequence[tuple[LedgerEntry, Claim]] = session.exec(query).all()
    tags = tags_by_claim(session, [claim.id for _, claim in rows if claim.id is not None])
    return [
        FeedEntry(
            seq=entry.seq,
            kind=entry.kind,
            at=entry.created_at,
            hash=entry.hash,
            slug=claim.slug,
            title=claim.title,
            tags=tags.get(claim.id or 0, []),
            facts=_facts(entry.payload),
        )
        for entry, claim in rows
    ]


def _facts(payload: str | None) -> dict[str, Any]:
    """The few payload fields a summary names; never the reveals themselves, only their count."""
    data = json.loads(payload) if payload else {}
    facts = {key: data.get(key) for key in ("outcome", "previous", "note", "closes_at")}
    facts["reveals"] = len(data.get("reveals") or [])
    return facts
