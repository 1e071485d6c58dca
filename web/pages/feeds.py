"""The Atom feeds of SPEC §9: claims published, resolutions, one claim's, one claimant's.

Feeds are read without signing in, so a draft is a 404 whoever asks.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from claims.kinds import EntryKind
from claims.lifecycle import get_claim
from forecasts.notify.feeds import (
    FeedEntry,
    claim_entries,
    claimant_entries,
    published_claims,
    resolutions,
)
from web.atom import FeedMeta, atom_document, atom_response, last_modified
from web.deps import Ctx, ReadSession

router = APIRouter(include_in_schema=False)

# what each kind of entry says, before the claim's title
_HEADINGS = {
    EntryKind.CLAIM_PUBLISHED: "New claim",
    EntryKind.CLAIM_TEXT_AMENDED: "Text amended",
    EntryKind.CRITERIA_AMENDED: "Criteria amended",
    EntryKind.WINDOW_AMENDED: "Window changed",
    EntryKind.CLAIM_CLOSED: "Closed",
    EntryKind.CLAIM_REOPENED: "Reopened",
    EntryKind.RESOLUTION_PROPOSED: "Outcome proposed",
    EntryKind.RESOLUTION_DISPUTED: "Proposal disputed",
    EntryKind.RESOLUTION_FINALISED: "Resolved",
    EntryKind.RE_RESOLVED: "Re-resolved",
    EntryKind.ANNULLED: "Annulled",
    EntryKind.SOURCE_AMENDED: "Source amended",
}


def entry_words(entry: FeedEntry) -> tuple[str, str]:
    """An entry's title and plain-text summary."""
    heading = _HEADINGS.get(EntryKind(entry.kind), entry.kind.replace("_", " ").capitalize())
    facts = entry.facts
    outcome = facts.get("outcome")
    if outcome and entry.kind != EntryKind.ANNULLED:
        heading = f"{heading} {outcome}"
    parts = [f"{heading}: ledger entry {entry.seq}."]
    if entry.kind == EntryKind.CLAIM_PUBLISHED and facts.get("closes_at"):
        parts.append(f"Forecasts are taken until {facts['closes_at']}.")
    if entry.kind == EntryKind.CLAIM_CLOSED:
        parts.append(f"{facts['reveals']} forecast commitments revealed.")
    if facts.get("previous"):
        parts.append(f"It was {facts['previous']} before.")
    if facts.get("note"):
        parts.append(f"Note: {facts['note']}")
    return f"{heading}: {entry.title}", " ".join(parts)


def _answer(request: Request, ctx: Ctx, meta: FeedMeta, entries: list[FeedEntry]) -> Response:
    # never the request's Host: anyone can send any (as the ledger page, docs/decisions.md)
    body = atom_document(meta, entries, base_url=ctx.settings.public_url, words=entry_words)
    return atom_response(request, body, last_modified(entries))


@router.get("/feeds/claims.atom")
def claims_feed(
    request: Request,
    session: ReadSession,
    ctx: Ctx,
    tag: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    tag = tag or None
    query = f"?tag={quote(tag, safe='')}" if tag else ""
    path = "/feeds/claims.atom" + query
    title = f"Forecast Ledger: new claims tagged {tag}" if tag else "Forecast Ledger: new claims"
    meta = FeedMeta(path=path, title=title, page="/" + query)
    return _answer(request, ctx, meta, published_claims(session, tag))


@router.get("/feeds/resolutions.atom")
def resolutions_feed(request: Request, session: ReadSession, ctx: Ctx) -> Response:
    meta = FeedMeta("/feeds/resolutions.atom", "Forecast Ledger: resolutions", "/")
    return _answer(request, ctx, meta, resolutions(session))


@router.get("/claims/{slug}/feed.atom")
def claim_feed(request: Request, slug: str, session: ReadSession, ctx: Ctx) -> Response:
    claim = get_claim(session, slug, drafts=False)
    assert claim.id is not None
    meta = FeedMeta(
        f"/claims/{slug}/feed.atom", f"Forecast Ledger: {claim.title}", f"/claims/{slug}"
    )
    return _answer(request, ctx, meta, claim_entries(session, claim.id))


@router.get("/claimants/{slug}/feed.atom")
def claimant_feed(request: Request, slug: str, session: ReadSession, ctx: Ctx) -> Response:
    """The public entries of the claims that cite the claimant (its track record's news)."""
    entries = claimant_entries(session, slug)
    meta = FeedMeta(
        f"/claimants/{slug}/feed.atom", f"Forecast Ledger: claims of {slug}", f"/claimants/{slug}"
    )
    return _answer(request, ctx, meta, entries)
