"""Claimants (SPEC §8): who made claims in public; editors add and amend them, in the ledger."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from claims.errors import Conflict, NotFound
from claims.kinds import EntryKind
from claims.lifecycle import Recorder
from claims.models import Claimant
from claims.schemas import ClaimantCreate, ClaimantPatch

# A claimant's fields as its ledger entries carry them, the slug first (as `claimant`).
FIELDS = ("name", "kind", "url", "description")


class ClaimantNotFound(NotFound):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no claimant with slug {slug!r}")


def claimant_record(claimant: Claimant) -> dict[str, Any]:
    """The payload of `claimant_added` and `claimant_amended`: the whole claimant."""
    return {"claimant": claimant.slug, **{name: getattr(claimant, name) for name in FIELDS}}


def get_claimant(session: Session, slug: str) -> Claimant:
    claimant = session.exec(select(Claimant).where(Claimant.slug == slug)).first()
    if claimant is None:
        raise ClaimantNotFound(slug)
    return claimant


def claimants_by_slug(session: Session, slugs: Sequence[str]) -> dict[str, Claimant]:
    """The claimants among these slugs, in one query."""
    if not slugs:
        return {}
    rows = session.exec(select(Claimant).where(col(Claimant.slug).in_(sorted(set(slugs)))))
    return {claimant.slug: claimant for claimant in rows}


def create_claimant(
    session: Session, data: ClaimantCreate, *, now: datetime, record: Recorder
) -> Claimant:
    """Add a claimant and record `claimant_added`; commits. A taken slug is a Conflict."""
    if session.exec(select(Claimant.id).where(Claimant.slug == data.slug)).first() is not None:
        raise Conflict(f"a claimant with slug {data.slug!r} already exists")
    claimant = Claimant(
        slug=data.slug,
        name=data.name,
        kind=data.kind,
        url=str(data.url) if data.url is not None else None,
        description=data.description,
        created_at=now,
        updated_at=now,
    )
    session.add(claimant)
    session.flush()
    claimant.added_seq = record(
        session, EntryKind.CLAIMANT_ADDED, now, claimant_record(claimant), None
    )
    session.add(claimant)
    session.commit()
    session.refresh(claimant)
    return claimant


def amend_claimant(
    session: Session, slug: str, patch: ClaimantPatch, *, now: datetime, record: Recorder
) -> Claimant:
    """Apply an editor's change and record `claimant_amended`, unless nothing changed; commits."""
    claimant = get_claimant(session, slug)
    before = claimant_record(claimant)
    for name, value in patch.model_dump(mode="json", exclude_unset=True).items():
        setattr(claimant, name, value)
    after = claimant_record(claimant)
    if after != before:
        claimant.updated_at = now
        session.add(claimant)
        record(session, EntryKind.CLAIMANT_AMENDED, now, after, None)
    session.commit()
    session.refresh(claimant)
    return claimant
