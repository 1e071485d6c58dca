"""Status of a claim by the clock, and the changes editors make: create, publish, amend."""

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import rfc8785
from sqlmodel import Session, col, delete, select

from claims.clock import as_utc, stamp
from claims.closing import tc
from claims.errors import ClaimNotFound, Conflict, Invalid
from claims.kinds import EntryKind
from claims.models import Claim, ClaimTag, ClaimVersion
from claims.outcome_space import check_rules, check_space, space_of, space_record
from claims.schemas import ClaimCreate, ClaimPatch
from claims.sources import check_change, checked_source, free_text_claimant
from claims.states import SETTLED_STATES, ClaimState, ClockState


class Recorder(Protocol):
    """Appends one public entry to the ledger inside the session's transaction; returns its seq."""

    def __call__(
        self,
        session: Session,
        kind: str,
        at: datetime,
        payload: dict[str, Any],
        claim_id: int | None,
    ) -> int: ...


# Called inside the transaction that changes a published claim's source, with the slug of the
# claimant it cited before: the track records above this package move with it (SPEC §8).
SourceHook = Callable[[Session, Claim, str | None], None]


def effective_close(claim: Claim) -> datetime:
    """Tc: the scheduled close, or the earlier moment the claim was settled."""
    return tc(claim.closes_at, claim.closed_early_at)


def status_at(claim: Claim, now: datetime) -> str:
    """The contract status: stored states, with `published` read through the clock."""
    if claim.state != ClaimState.PUBLISHED:
        return claim.state
    if now < claim.opens_at:
        return ClockState.UPCOMING
    if now < effective_close(claim):
        return ClockState.OPEN
    return ClockState.CLOSED


def accepts_forecasts(claim: Claim, now: datetime) -> bool:
    return claim.state == ClaimState.PUBLISHED and claim.opens_at <= now < effective_close(claim)


def get_claim(session: Session, slug: str, *, drafts: bool = True) -> Claim:
    """The claim with this slug; with `drafts` False a draft is not found either."""
    claim = session.exec(select(Claim).where(Claim.slug == slug)).first()
    if claim is None or (claim.state == ClaimState.DRAFT and not drafts):
        raise ClaimNotFound(slug)
    return claim


def tags_of(session: Session, claim_id: int) -> list[str]:
    rows = session.exec(
        select(ClaimTag.tag).where(ClaimTag.claim_id == claim_id).order_by(ClaimTag.tag)
    )
    return list(rows)


def tags_by_claim(session: Session, claim_ids: Sequence[int]) -> dict[int, list[str]]:
    """`tags_of` for several claims in one query."""
    found: dict[int, list[str]] = {claim_id: [] for claim_id in claim_ids}
    if claim_ids:
        rows = session.exec(
            select(ClaimTag.claim_id, ClaimTag.tag)
            .where(col(ClaimTag.claim_id).in_(claim_ids))
            .order_by(col(ClaimTag.tag))
        )
        for claim_id, tag in rows:
            found[claim_id].append(tag)
    return found


def public_record(claim: Claim, tags: list[str]) -> dict[str, Any]:
    """The claim as the ledger records it when published (all text, window and rules)."""
    return {
        "claim": claim.slug,
        "title": claim.title,
        "description": claim.description,
        "resolution_criteria": claim.resolution_criteria,
        "fine_print": claim.fine_print,
        "tags": tags,
        "opens_at": stamp(claim.opens_at),
        "closes_at": stamp(claim.closes_at),
        "resolves_at": stamp(claim.resolves_at),
        "rules": claim.rules,
        "source": claim.source,
        **space_record(claim.kind, space_of(claim)),
    }


def _check_window(opens_at: datetime, closes_at: datetime, resolves_at: datetime) -> None:
    if not opens_at < closes_at:
        raise Invalid("closes_at", "must be after opens_at")
    if not closes_at <= resolves_at:
        raise Invalid("resolves_at", "must not be before closes_at")


def create_claim(
    session: Session, data: ClaimCreate, *, editor_id: int | None, now: datetime, record: Recorder
) -> Claim:
    """Create (and unless it is a draft, publish) a claim; commits."""
    if session.exec(select(Claim.id).where(Claim.slug == data.slug)).first() is not None:
        raise Conflict(f"a claim with slug {data.slug!r} already exists")
    opens_at = as_utc(data.opens_at) if data.opens_at else now
    closes_at = as_utc(data.closes_at)
    resolves_at = as_utc(data.resolves_at) if data.resolves_at else closes_at
    _check_window(opens_at, closes_at, resolves_at)
    space = check_space(data.kind, data.given())
    check_rules(data.kind, data.rules)
    source = checked_source(session, data.source, kind=data.kind, options=space.options)
    claim = Claim(
        kind=data.kind,
        **space.columns(),
        slug=data.slug,
        title=data.title,
        description=data.description,
        resolution_criteria=data.resolution_criteria,
        fine_print=data.fine_print,
        rules=[rule.model_dump(mode="json") for rule in data.rules],
        source=source.value,
        claimant=source.claimant,
        state=ClaimState.DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        resolves_at=resolves_at,
        created_by=editor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(claim)
    session.flush()
    assert claim.id is not None
    tags = sorted(set(data.tags))
    for tag in tags:
        session.add(ClaimTag(claim_id=claim.id, tag=tag))
    if data.status == "published":
        _publish(session, claim, tags, now=now, record=record)
    session.commit()
    session.refresh(claim)
    return claim


def publish_claim(session: Session, slug: str, *, now: datetime, record: Recorder) -> Claim:
    """Publish a draft; commits."""
    claim = get_claim(session, slug)
    if claim.state != ClaimState.DRAFT:
        raise Conflict("only a draft can be published")
    if claim.opens_at < now and claim.closes_at > now:
        claim.opens_at = now  # a draft's window starts no earlier than its publication
    assert claim.id is not None
    _publish(session, claim, tags_of(session, claim.id), now=now, record=record)
    session.commit()
    session.refresh(claim)
    return claim


def _publish(
    session: Session, claim: Claim, tags: list[str], *, now: datetime, record: Recorder
) -> None:
    claim.state = ClaimState.PUBLISHED
    claim.updated_at = now
    claim.published_seq = record(
        session, EntryKind.CLAIM_PUBLISHED, now, public_record(claim, tags), claim.id
    )
    session.add(claim)


def amend_claim(
    session: Session,
    claim: Claim,
    patch: ClaimPatch,
    *,
    forecast_seen: bool,
    now: datetime,
    record: Recorder,
    on_source: SourceHook | None = None,
) -> Claim:
    """Apply an editor's change under the rules of SPEC §2 and §8; commits.

    `forecast_seen` says whether anyone has forecast on the claim yet (the forecasts live above
    this package, so the caller asks). Once published, every change of what the claim says is
    recorded, so that `verify` can replay each claims row from the ledger; `on_source` runs
    in the same transaction when the source changes.
    """
    assert claim.id is not None
    changes = patch.model_dump(exclude_unset=True)
    published = claim.state != ClaimState.DRAFT
    closed = published and status_at(claim, now) not in (ClockState.UPCOMING, ClockState.OPEN)
    window = (claim.opens_at, claim.closes_at, claim.resolves_at)
    _amend_window(claim, patch, changes, forecast_seen=forecast_seen, now=now)
    space_moved = _amend_space(claim, patch, forecast_seen=forecast_seen)
    option = (claim.source or {}).get("option")
    kept_source = space_moved and "source" not in changes and option is not None
    if kept_source and option not in (claim.options or []):
        raise Invalid(["source", "option"], f"{option!r} is no longer one of the options")
    if patch.rules is not None:
        check_rules(claim.kind, patch.rules)
    criteria_changed = "resolution_criteria" in changes or "rules" in changes
    if criteria_changed and claim.state in SETTLED_STATES:
        raise Conflict("the criteria of a settled claim cannot change")
    old_text = text_of(claim, tags_of(session, claim.id))
    new_text = _text_after(claim, patch, changes, old_text)
    if new_text != old_text and published and claim.state in SETTLED_STATES:
        raise Conflict("the text of a settled claim cannot change")
    criteria = (claim.resolution_criteria, claim.rules)
    if criteria_changed and forecast_seen:
        session.add(
            ClaimVersion(
                claim_id=claim.id,
                version=claim.version,
                resolution_criteria=claim.resolution_criteria,
                rules=claim.rules,
                superseded_at=now,
            )
        )
        claim.version += 1
    if "resolution_criteria" in changes:
        claim.resolution_criteria = patch.resolution_criteria or claim.resolution_criteria
    if patch.rules is not None:
        claim.rules = [rule.model_dump(mode="json") for rule in patch.rules]
    claim.title, claim.description = new_text["title"], new_text["description"]
    claim.fine_print = new_text["fine_print"]
    cited = claim.claimant
    source_changed = "source" in changes and _amend_source(session, claim, patch, closed=closed)
    if new_text["tags"] != old_text["tags"]:
        session.exec(delete(ClaimTag).where(col(ClaimTag.claim_id) == claim.id))
        for tag in new_text["tags"]:
            session.add(ClaimTag(claim_id=claim.id, tag=tag))
    claim.updated_at = now
    session.add(claim)
    if published:
        criteria_moved = forecast_seen and criteria_changed
        if criteria_moved or criteria != (claim.resolution_criteria, claim.rules):
            payload = {
                "claim": claim.slug,
                "version": claim.version,
                "resolution_criteria": claim.resolution_criteria,
                "rules": claim.rules,
            }
            record(session, EntryKind.CRITERIA_AMENDED, now, payload, claim.id)
        if space_moved:
            payload = {"claim": claim.slug, **space_record(claim.kind, space_of(claim))}
            record(session, EntryKind.SPACE_AMENDED, now, payload, claim.id)
        if window != (claim.opens_at, claim.closes_at, claim.resolves_at):
            record(session, EntryKind.WINDOW_AMENDED, now, window_record(claim), claim.id)
        if new_text != old_text:
            record(
                session,
                EntryKind.CLAIM_TEXT_AMENDED,
                now,
                text_record(claim.slug, new_text),
                claim.id,
            )
        if source_changed:
            payload = {"claim": claim.slug, "source": claim.source}
            record(session, EntryKind.SOURCE_AMENDED, now, payload, claim.id)
            if on_source is not None:
                on_source(session, claim, cited)
    session.commit()
    session.refresh(claim)
    return claim


def _amend_space(claim: Claim, patch: ClaimPatch, *, forecast_seen: bool) -> bool:
    """Apply the patch's kind fields; whether they changed (a 409 once forecasts are in)."""
    given = patch.given()
    if not given:
        return False
    before = space_of(claim)
    after = check_space(claim.kind, given, base=before)
    if after == before:
        return False
    if forecast_seen:
        raise Conflict("options, range and scale cannot change after the first forecast")
    if claim.state in SETTLED_STATES:
        raise Conflict("a settled claim's outcome space cannot change")
    claim.sqlmodel_update(after.columns())
    return True


def text_of(claim: Claim, tags: list[str]) -> dict[str, Any]:
    """The claim's text as `claim_text_amended` records it (SPEC §3)."""
    return {
        "title": claim.title,
        "description": claim.description,
        "fine_print": claim.fine_print,
        "tags": tags,
    }


def _amend_source(session: Session, claim: Claim, patch: ClaimPatch, *, closed: bool) -> bool:
    """Replace the whole source under SPEC §8's rules; whether it changed."""
    new = checked_source(
        session,
        patch.source,
        kind=claim.kind,
        options=claim.options,
        kept_text=free_text_claimant(claim),
    )
    check_change(session, claim, new, closed=closed)
    if (new.value, new.claimant) == (claim.source, claim.claimant):
        return False
    claim.source, claim.claimant = new.value, new.claimant
    return True


def text_record(slug: str, text: dict[str, Any]) -> dict[str, Any]:
    """The payload of `claim_text_amended`: the new text and `text_hash`, the sha256 of the
    RFC 8785 JSON of exactly the fields of `text_of` (entries from before `source_amended`
    also carry the source)."""
    digest = hashlib.sha256(rfc8785.dumps(text)).hexdigest()
    return {"claim": slug, **text, "text_hash": digest}


def window_record(claim: Claim) -> dict[str, Any]:
    """The payload of `window_amended`."""
    return {
        "claim": claim.slug,
        "opens_at": stamp(claim.opens_at),
        "closes_at": stamp(claim.closes_at),
        "resolves_at": stamp(claim.resolves_at),
    }


def _text_after(
    claim: Claim, patch: ClaimPatch, changes: dict[str, Any], old: dict[str, Any]
) -> dict[str, Any]:
    """What the text will be once the patch is applied."""
    new = dict(old)
    for name in ("title", "description", "fine_print"):
        if name in changes and getattr(patch, name) is not None:
            new[name] = getattr(patch, name)
    if patch.tags is not None:
        new["tags"] = sorted(set(patch.tags))
    return new


def _amend_window(
    claim: Claim, patch: ClaimPatch, changes: dict[str, Any], *, forecast_seen: bool, now: datetime
) -> None:
    opens_at = as_utc(patch.opens_at) if patch.opens_at else claim.opens_at
    closes_at = as_utc(patch.closes_at) if patch.closes_at else claim.closes_at
    resolves_at = as_utc(patch.resolves_at) if patch.resolves_at else claim.resolves_at
    if "resolves_at" not in changes and "closes_at" in changes and resolves_at < closes_at:
        resolves_at = closes_at
    window_changed = bool({"opens_at", "closes_at"} & changes.keys())
    if window_changed and claim.state in SETTLED_STATES:
        raise Conflict("the window of a settled claim cannot change")
    if forecast_seen:
        if "opens_at" in changes and opens_at != claim.opens_at:
            raise Conflict("opens_at cannot change after the first forecast")
        if "closes_at" in changes and closes_at > claim.closes_at:
            raise Conflict("after the first forecast the window can only be shortened")
        if "closes_at" in changes and closes_at != claim.closes_at and closes_at <= now:
            raise Invalid("closes_at", "cannot be moved into the past")
    _check_window(opens_at, closes_at, resolves_at)
    claim.opens_at, claim.closes_at, claim.resolves_at = opens_at, closes_at, resolves_at
