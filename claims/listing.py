"""The list of claims, newest first, by status, tag and claimant, and the tags in use."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from claims.closing import closed_by
from claims.models import Claim, ClaimTag
from claims.states import ClaimState


def _status_filter(status: str, now: datetime) -> ColumnElement[bool]:
    closed = closed_by(col(Claim.closes_at), col(Claim.closed_early_at), now)
    if status == "upcoming":
        return and_(col(Claim.state) == ClaimState.PUBLISHED, col(Claim.opens_at) > now)
    if status == "open":
        return and_(
            col(Claim.state) == ClaimState.PUBLISHED,
            col(Claim.opens_at) <= now,
            ~closed,
        )
    if status == "closed":
        return and_(col(Claim.state) == ClaimState.PUBLISHED, closed)
    return col(Claim.state) == status


def list_claims(
    session: Session,
    *,
    clock: Callable[[], datetime],
    drafts: bool,
    status: str | None = None,
    tag: str | None = None,
    claimant: str | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[Claim]:
    """Up to `limit` claims with an id below `before_id`, newest first, in one query.

    Without `drafts` there are no drafts, `status="draft"` included. The clock is read only
    for a status that depends on it.
    """
    query = select(Claim).order_by(col(Claim.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(Claim.id) < before_id)
    if status is not None:
        query = query.where(_status_filter(status, clock()))
    if not drafts:
        query = query.where(col(Claim.state) != ClaimState.DRAFT)
    if tag is not None:
        query = query.where(col(Claim.id).in_(select(ClaimTag.claim_id).where(ClaimTag.tag == tag)))
    if claimant is not None:
        query = query.where(col(Claim.claimant) == claimant)
    return list(session.exec(query))


def tags_in_use(session: Session, *, drafts: bool) -> list[str]:
    """Every tag in use; without `drafts`, not a tag only drafts carry."""
    query = select(ClaimTag.tag).distinct().order_by(ClaimTag.tag)
    if not drafts:
        query = query.join(Claim, col(Claim.id) == ClaimTag.claim_id).where(
            col(Claim.state) != ClaimState.DRAFT
        )
    return list(session.exec(query))
