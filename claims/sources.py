"""A claim's `source` under the rules of SPEC §8: who said it, on which side, and when it may
change."""

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from claims.errors import Conflict, Invalid
from claims.models import Claim, Claimant
from claims.schemas import ClaimSource

# What the claimant said: fixed once the claim has closed (`check_change`).
CITATION = ("claimant", "stance", "option", "stated_probability")
BINARY = "binary"
MULTIPLE_CHOICE = "multiple_choice"


@dataclass(frozen=True)
class Source:
    """A source as stored, and the slug of the claimant it links (None: none, or free text)."""

    value: dict[str, Any] | None
    claimant: str | None


def checked_source(
    session: Session,
    source: ClaimSource | None,
    *,
    kind: str = BINARY,
    options: list[str] | None = None,
    kept_text: str | None = None,
) -> Source:
    """The source as stored, or `Invalid` naming the field that breaks a rule.

    `kept_text` is the claim's free-text claimant (from before claimants), which a change of
    the other fields may carry along unlinked; any other claimant must be a claimant's slug.
    """
    if source is None:
        return Source(None, None)
    if source.option is not None:  # a label is an exact string after NFC, as options are (§7)
        source = source.model_copy(update={"option": unicodedata.normalize("NFC", source.option)})
    value = source.model_dump(mode="json", exclude_none=True)
    if source.claimant is None:
        for name in ("stance", "option", "stated_probability"):
            if name in value:
                raise Invalid(["source", name], "needs a claimant")
        return Source(value, None)
    found = session.exec(select(Claimant.id).where(Claimant.slug == source.claimant)).first()
    if found is None:
        if source.claimant == kept_text and not ({"stance", "option"} & value.keys()):
            if "stated_probability" in value:
                raise Invalid(["source", "stated_probability"], "needs a linked claimant")
            return Source(value, None)
        raise Invalid(["source", "claimant"], f"no claimant with slug {source.claimant!r}")
    _check_citation(source, kind, options)
    return Source(value, source.claimant)


def _check_citation(source: ClaimSource, kind: str, options: list[str] | None) -> None:
    if kind not in (BINARY, MULTIPLE_CHOICE):
        for name in ("stance", "option", "stated_probability"):
            if getattr(source, name) is not None:
                raise Invalid(["source", name], f"a {kind} claim takes no {name}")
        return
    if source.stance is None:
        raise Invalid(["source", "stance"], "required with a claimant: asserts or denies")
    if kind == MULTIPLE_CHOICE:
        if source.option is None:
            raise Invalid(["source", "option"], "required on a multiple-choice claim")
        if source.option not in (options or []):
            raise Invalid(["source", "option"], "must be one of the claim's options")
    elif source.option is not None:
        raise Invalid(["source", "option"], "only a multiple-choice claim takes an option")
    stated = source.stated_probability
    if stated is not None and source.stance == "asserts" and stated < 0.5:
        raise Invalid(["source", "stated_probability"], "must be at least 0.5 when asserting")
    if stated is not None and source.stance == "denies" and stated > 0.5:
        raise Invalid(["source", "stated_probability"], "must be at most 0.5 when denying")


def free_text_claimant(claim: Claim) -> str | None:
    """The claim's claimant when it is free text from before claimants (never linked)."""
    text = (claim.source or {}).get("claimant")
    return text if claim.claimant is None and isinstance(text, str) else None


def check_change(session: Session, claim: Claim, new: Source, *, closed: bool) -> None:
    """Once the claim has closed, what the claimant said is fixed (a `Conflict`), except that
    a free-text claimant may be linked, once, to the claimant whose name it equals."""
    if not closed:
        return
    old = claim.source or {}
    fresh = new.value or {}
    if all(old.get(name) == fresh.get(name) for name in CITATION):
        return
    text = free_text_claimant(claim)
    if text is not None and new.claimant is not None:
        name = session.exec(select(Claimant.name).where(Claimant.slug == new.claimant)).first()
        if name == text:
            return
        raise Conflict(
            f"the free-text claimant {text!r} can only be linked to a claimant of that name"
        )
    raise Conflict(
        "claimant, stance, option and stated_probability are fixed once the claim has closed"
    )
